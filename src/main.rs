//! Thin binary: parse the command line, hand over to the library.

fn main() -> std::process::ExitCode {
    fieldnotes::ops::tune_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(fieldnotes::cli::main())
}
