//! `bayou log [REF]`: first-parent history, newest first, paged with `--after`.

use super::Ctx;
use crate::cli::LogArgs;
use crate::output::{Listing, emit, time};

pub(crate) async fn run(ctx: &Ctx, args: LogArgs) -> anyhow::Result<()> {
    let catalog = &ctx.service;
    let reference = ctx.reference(args.reference.as_deref()).await?;
    let head = catalog.resolve(&reference).await?.commit;
    let after = match &args.after {
        Some(a) => Some(catalog.resolve(a).await?.commit),
        None => None,
    };
    let commits = catalog.log(&head, args.limit, after.as_ref()).await?;
    let mut listing = Listing::new(vec!["commit", "time (UTC)", "author", "message", "tables"]);
    for c in &commits {
        let tables: Vec<String> = c.operations.iter().map(|o| o.key().to_string()).collect();
        listing.push(vec![
            c.id.short().to_string(),
            time(c.time_ms),
            c.author.clone(),
            c.message.clone(),
            tables.join(", "),
        ]);
    }
    emit(ctx.format, &commits, listing)
}
