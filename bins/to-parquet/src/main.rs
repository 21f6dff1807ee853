// See docs/adr/0005-jemalloc.md: measured on the L lake, 6 % faster, 11 % less CPU.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    tickerlake::cli::main("to-parquet", to_parquet::run)
}
