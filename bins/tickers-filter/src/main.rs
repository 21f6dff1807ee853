// See docs/adr/0005-jemalloc.md: a run allocates and frees millions of small strings and maps.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    tickerlake::cli::main("tickers-filter", tickers_filter::run)
}
