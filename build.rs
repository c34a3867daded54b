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
    startup_order();
}

/// The release link puts the functions that run from exec to idle
/// together at the front of `.text` (`link/startup.order`, written by
/// `benches/startup-order.sh`), so an idle bot maps that stretch and not
/// the 64 kB the kernel maps around every function startup touches
/// across the binary (issue 14: idle RSS, BENCHMARKS.md footprint).
///
/// Only where the linker is lld, which reads `--symbol-ordering-file`:
/// rustc links x86_64-unknown-linux-gnu with its own lld since 1.90. A
/// stale order is harmless (lld skips names that are gone and puts new
/// functions after the ordered ones); `FIELDNOTES_LINK_ORDER=none` turns
/// it off, for a build that links with another linker.
fn startup_order() {
    println!("cargo:rerun-if-changed=link/startup.order");
    println!("cargo:rerun-if-env-changed=FIELDNOTES_LINK_ORDER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("FIELDNOTES_LINK_ORDER") == "none"
        || var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || rustc_minor() < 90
    {
        return;
    }
    // The link's map (every function's name and address, kept though the
    // binary itself is stripped): benches/startup-order.sh names what
    // callgrind saw run in this very binary with it. A build with symbols
    // would not do: the profile's `strip` setting is part of every crate's
    // metadata hash, so all the symbol names would differ.
    let map = std::path::Path::new(&var("OUT_DIR")).join("fieldnotes.map");
    println!("cargo:rustc-link-arg-bins=-Wl,-Map={}", map.display());
    // Mangled, as the ordering file names them.
    println!("cargo:rustc-link-arg-bins=-Wl,--no-demangle");
    let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("link/startup.order");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// The minor version of the compiler building us (`rustc 1.95.0 (…)`),
/// 0 when it can't be told.
fn rustc_minor() -> u32 {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout).into_owned();
            v.split_whitespace().nth(1)?.split('.').nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}
