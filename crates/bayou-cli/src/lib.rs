//! The `bayou` command-line interface.
//!
//! Entry point: [`main`]. Arguments are parsed by the clap types in `cli`, then dispatched to
//! one module per command under `commands/`. In embedded mode (the only mode so far) the
//! commands open the lake in-process.

mod cli;
mod commands;
mod demo_data;
mod git_branch;
mod output;
mod profile;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;

/// Runs the CLI and returns the process exit code: 0 success, 1 failure, 2 usage error.
#[expect(clippy::print_stderr, reason = "the binary reports errors on stderr")]
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", output::render_error(&e));
            let code = e.downcast_ref::<output::Exit>().map_or(1, |x| x.code);
            ExitCode::from(code)
        }
    }
}
