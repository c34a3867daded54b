//! Thin binary: parse the command line, hand over to the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fieldnotes::cli::main().await
}
