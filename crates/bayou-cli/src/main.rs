//! The `bayou` binary: see `bayou_cli` for the commands.

fn main() -> std::process::ExitCode {
    bayou_cli::main()
}
