// See docs/adr/0005-jemalloc.md.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    tickerlake::cli::main("qlib-bin", qlib_bin::run)
}
