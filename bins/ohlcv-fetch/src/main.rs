// See docs/adr/0005-jemalloc.md: a flat-files month allocates and frees a few million small
// strings and rows on four download threads.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    tickerlake::cli::main("ohlcv-fetch", ohlcv_fetch::run)
}
