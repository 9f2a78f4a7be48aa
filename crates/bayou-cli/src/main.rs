//! The `bayou` binary: see `bayou_cli` for the commands.

/// mimalloc: the engine's short-lived buffers cost ~10% of a scan in glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bayou_cli::main()
}
