//! ELF loading and a glibc program's basic system calls: programs linked statically,
//! as static PIEs and dynamically print and exit under `runsc run` exactly as they do
//! natively.

use std::path::Path;

use runsc_tests::{assert_same_as_native, compile, guest_path, native, Bundle, Link, Runsc, BASICS_DATA};

fn hello_matches_native(link: Link) {
    let hello = compile("hello", link);
    let runsc = Runsc::new();
    for code in ["0", "5"] {
        let nat = native(&hello, [code], Path::new("/"));
        assert!(
            nat.stdout_str() == "hello from the guest\n" && nat.code() == code.parse().ok(),
            "native hello ({}) misbehaves\n{nat}",
            link.suffix()
        );
        let bundle = Bundle::builder()
            .binary(&hello)
            .args([guest_path(&hello), code.to_string()])
            .build();
        let id = runsc.new_id("hello");
        let out = runsc.run_bundle(&bundle, &id);
        assert_same_as_native(&nat, &out, &format!("hello {code} ({})", link.suffix()));
    }
}

#[test]
fn hello_static() {
    hello_matches_native(Link::Static);
}

#[test]
fn hello_static_pie() {
    hello_matches_native(Link::StaticPie);
}

#[test]
fn hello_dynamic() {
    hello_matches_native(Link::Dynamic);
}

fn basics_matches_native(link: Link) {
    let basics = compile("basics", link);
    let data_dir = tempfile::tempdir().expect("tempdir");
    let data = data_dir.path().join("data.txt");
    std::fs::write(&data, BASICS_DATA).expect("write data");
    let nat = native(&basics, [&data], Path::new("/"));
    assert!(
        nat.success() && nat.stdout_str().ends_with("failures: 0\ndone\n"),
        "basics ({}) fails natively\n{nat}",
        link.suffix()
    );

    let runsc = Runsc::new();
    let bundle = Bundle::builder()
        .binary(&basics)
        .file("/data.txt", BASICS_DATA, 0o644)
        .args([guest_path(&basics), "/data.txt".to_string()])
        .build();
    let id = runsc.new_id("basics");
    let out = runsc.run_bundle(&bundle, &id);
    assert_same_as_native(&nat, &out, &format!("basics ({})", link.suffix()));
}

#[test]
fn basics_static() {
    basics_matches_native(Link::Static);
}

#[test]
fn basics_static_pie() {
    basics_matches_native(Link::StaticPie);
}

#[test]
fn basics_dynamic() {
    basics_matches_native(Link::Dynamic);
}
