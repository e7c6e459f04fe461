//! Compiles src/shims.c (the C side of every FFI scenario) into a static
//! library linked into this crate. The Go reference compiles the same file
//! through cgo (see src/shims.h).

fn main() {
    println!("cargo:rerun-if-changed=src/shims.c");
    println!("cargo:rerun-if-changed=src/shims.h");
    cc::Build::new()
        .file("src/shims.c")
        .include("src")
        .opt_level(2) // the loops' speed must not depend on the Rust profile
        .warnings(true)
        .extra_warnings(true)
        .compile("schedlab_shims");
}
