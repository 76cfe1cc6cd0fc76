//! The house structure, checked from the source: no module of the server or the client imports
//! another that imports it back, directly or through others (a parent and its own submodules
//! included: a `mod.rs` that re-exports a child the child must not import).

mod modgraph;

use std::path::{Path, PathBuf};

use modgraph::ModGraph;

fn crate_src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

fn assert_no_circles(krate: &str) {
    let graph = ModGraph::of_crate(&crate_src(krate));
    assert!(
        graph.modules.len() > 20,
        "{krate}: only {} modules found; is the source where this test looks?",
        graph.modules.len()
    );
    let circles = graph.circles();
    assert!(
        circles.is_empty(),
        "{krate} has import circles:\n{}",
        graph.describe(&circles)
    );
}

#[test]
fn the_server_has_no_import_circles() {
    assert_no_circles("server");
}

#[test]
fn the_client_has_no_import_circles() {
    assert_no_circles("client");
}

#[test]
fn the_api_crate_has_no_import_circles() {
    let graph = ModGraph::of_crate(&crate_src("api"));
    assert!(
        graph.circles().is_empty(),
        "{}",
        graph.describe(&graph.circles())
    );
}

/// Writes a small crate: `files` as (path below src/, text).
fn write_crate(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
    dir
}

#[test]
fn a_circle_through_a_use_a_path_and_a_parent_is_found_and_named() {
    let dir = write_crate(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a/mod.rs",
            "mod inner;\npub use inner::Thing;\npub struct Base;\n",
        ),
        ("a/inner.rs", "pub struct Thing(crate::b::Other);\n"),
        (
            "b.rs",
            "use crate::a;\npub struct Other;\npub fn f() -> a::Base { a::Base }\n",
        ),
    ]);
    let graph = ModGraph::of_crate(dir.path());
    let circles = graph.circles();
    assert_eq!(circles.len(), 1, "{}", graph.describe(&circles));
    let text = graph.describe(&circles);
    for edge in [
        "a -> a::inner: use inner::Thing",
        "a::inner -> b: path crate::b::Other",
        "b -> a: path a::Base; use crate::a",
    ] {
        assert!(text.contains(edge), "missing `{edge}` in:\n{text}");
    }
}

#[test]
fn test_code_and_one_way_imports_make_no_circle() {
    let dir = write_crate(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "pub struct A;\n#[cfg(test)]\nmod tests { use crate::b::B; }\n",
        ),
        ("b.rs", "use super::a::A;\npub struct B(A);\n"),
    ]);
    let graph = ModGraph::of_crate(dir.path());
    assert!(
        graph.circles().is_empty(),
        "{}",
        graph.describe(&graph.circles())
    );
    assert_eq!(graph.edges.len(), 1, "only b -> a");
}
