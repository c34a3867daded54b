// Rebuild when a migration is added, so `sqlx::migrate!` embeds it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    // Relative relocations packed as RELR (glibc 2.36+, the Dockerfile's
    // bookworm): the PIE binary's 1.3 MB `.rela.dyn` table, read at every
    // start, becomes a few kB (BENCHMARKS.md, footprint). The binary stays
    // position-independent, so ASLR is kept.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
