// Lets the included engine files leave out what only works outside a loom
// model (slots.rs's plain unit tests).
fn main() {
    println!("cargo::rustc-cfg=loom_models");
}
