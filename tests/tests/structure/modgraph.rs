//! The module graph of a crate, file by file: module A → module B when a file names (in a `use`,
//! a type or an expression path) an item that lives in B's file. Test code (`#[cfg(test)]`) is
//! left out: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's path below the crate root (`["audit", "chain"]`); the root is empty.
pub type ModPath = Vec<String>;

/// Every file module of a crate and the imports between them.
pub struct ModGraph {
    pub modules: BTreeSet<ModPath>,
    /// (importer, imported) → what the importer names there, e.g. `use super::Caller`.
    pub edges: BTreeMap<(ModPath, ModPath), BTreeSet<String>>,
}

/// A module's name as a path (`audit::chain`; `crate` for the root).
pub fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

impl ModGraph {
    /// Reads the crate whose root file is `src/lib.rs`.
    pub fn of_crate(src: &Path) -> ModGraph {
        let mut files = Vec::new();
        discover(
            &mut files,
            Vec::new(),
            src.join("lib.rs"),
            src.to_path_buf(),
        );
        let modules: BTreeSet<ModPath> = files.iter().map(|(m, _)| m.clone()).collect();
        let mut edges = BTreeMap::new();
        for (module, file) in &files {
            let mut v = Imports {
                modules: &modules,
                me: module.clone(),
                scopes: Vec::new(),
                edges: &mut edges,
            };
            v.items(module.clone(), &parse(file).items);
        }
        ModGraph { modules, edges }
    }

    /// The import circles: every set of two or more modules that reach each other.
    pub fn circles(&self) -> Vec<Vec<ModPath>> {
        let mut g = petgraph::graph::DiGraph::<&ModPath, ()>::new();
        let index: HashMap<&ModPath, _> = self.modules.iter().map(|m| (m, g.add_node(m))).collect();
        for (a, b) in self.edges.keys() {
            g.add_edge(index[a], index[b], ());
        }
        petgraph::algo::tarjan_scc(&g)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| c.into_iter().map(|n| g[n].clone()).collect())
            .collect()
    }

    /// The circles written out with the imports that close them, for a failure message.
    pub fn describe(&self, circles: &[Vec<ModPath>]) -> String {
        let mut out = String::new();
        for circle in circles {
            let members: BTreeSet<&ModPath> = circle.iter().collect();
            let names: Vec<String> = circle.iter().map(name).collect();
            out.push_str(&format!("circle: {}\n", names.join(", ")));
            for ((a, b), what) in &self.edges {
                if members.contains(a) && members.contains(b) {
                    let what: Vec<&str> = what.iter().map(String::as_str).collect();
                    out.push_str(&format!(
                        "    {} -> {}: {}\n",
                        name(a),
                        name(b),
                        what.join("; ")
                    ));
                }
            }
        }
        out
    }
}

fn parse(file: &Path) -> syn::File {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", file.display()))
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Finds every file module below `file` (module `path`, whose submodules live in `dir`).
fn discover(files: &mut Vec<(ModPath, PathBuf)>, path: ModPath, file: PathBuf, dir: PathBuf) {
    let ast = parse(&file);
    files.push((path.clone(), file));
    declared(files, &ast.items, &path, &dir);
}

fn declared(files: &mut Vec<(ModPath, PathBuf)>, items: &[syn::Item], path: &ModPath, dir: &Path) {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        if is_test(&m.attrs) {
            continue;
        }
        let name = m.ident.to_string();
        let mut child = path.clone();
        child.push(name.clone());
        match &m.content {
            Some((_, inner)) => declared(files, inner, &child, &dir.join(&name)),
            None => {
                let flat = dir.join(format!("{name}.rs"));
                let file = if flat.exists() {
                    flat
                } else {
                    dir.join(&name).join("mod.rs")
                };
                discover(files, child, file, dir.join(&name));
            }
        }
    }
}

/// Names visible in one module body: its submodules and what its `use`s brought in.
struct Scope {
    path: ModPath,
    children: BTreeSet<String>,
    aliases: HashMap<String, ModPath>,
}

/// Collects the imports of one file.
struct Imports<'a> {
    modules: &'a BTreeSet<ModPath>,
    me: ModPath,
    scopes: Vec<Scope>,
    edges: &'a mut BTreeMap<(ModPath, ModPath), BTreeSet<String>>,
}

impl Imports<'_> {
    /// The crate path a path written in the current scope stands for, if it is one of ours.
    fn resolve(&self, segs: &[String]) -> Option<ModPath> {
        let scope = self.scopes.last()?;
        let (mut full, rest): (ModPath, &[String]) = match segs.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &segs[1..]),
            Some("self") => (scope.path.clone(), &segs[1..]),
            Some("super") => {
                let mut full = scope.path.clone();
                let mut rest = segs;
                while rest.first().map(String::as_str) == Some("super") {
                    full.pop();
                    rest = &rest[1..];
                }
                (full, rest)
            }
            Some(first) if scope.children.contains(first) => (scope.path.clone(), segs),
            Some(first) => (scope.aliases.get(first)?.clone(), &segs[1..]),
            None => return None,
        };
        full.extend(rest.iter().cloned());
        Some(full)
    }

    /// Records an edge to the deepest file module `segs` reaches into.
    fn add(&mut self, segs: &[String], what: String) {
        let Some(full) = self.resolve(segs) else {
            return;
        };
        let target = (0..=full.len())
            .rev()
            .map(|k| full[..k].to_vec())
            .find(|m| self.modules.contains(m));
        if let Some(target) = target.filter(|t| *t != self.me) {
            self.edges
                .entry((self.me.clone(), target))
                .or_default()
                .insert(what);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        let (segs, alias) = match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
                return;
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
                return;
            }
            syn::UseTree::Glob(_) => (prefix.clone(), None),
            syn::UseTree::Name(n) => self.named(prefix, &n.ident, None),
            syn::UseTree::Rename(r) => self.named(prefix, &r.ident, Some(&r.rename)),
        };
        self.add(&segs, format!("use {}", segs.join("::")));
        if let (Some(alias), Some(full)) = (alias, self.resolve(&segs)) {
            if let Some(scope) = self.scopes.last_mut() {
                scope.aliases.insert(alias, full);
            }
        }
    }

    /// The path `use prefix::ident [as rename]` names and the alias it binds.
    fn named(
        &self,
        prefix: &[String],
        ident: &syn::Ident,
        rename: Option<&syn::Ident>,
    ) -> (Vec<String>, Option<String>) {
        let mut segs = prefix.to_vec();
        let alias = if ident == "self" {
            prefix.last().cloned()
        } else {
            segs.push(ident.to_string());
            Some(ident.to_string())
        };
        (segs, rename.map(|r| r.to_string()).or(alias))
    }

    /// One module body: `use`s first (they bind names for the whole body), then the rest.
    fn items(&mut self, path: ModPath, items: &[syn::Item]) {
        let children = items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Mod(m) => Some(m.ident.to_string()),
                _ => None,
            })
            .collect();
        self.scopes.push(Scope {
            path,
            children,
            aliases: HashMap::new(),
        });
        for item in items {
            if let syn::Item::Use(u) = item {
                if !is_test(&u.attrs) {
                    self.use_tree(&mut Vec::new(), &u.tree);
                }
            }
        }
        for item in items {
            match item {
                syn::Item::Use(_) => {}
                syn::Item::Mod(m) => {
                    if let (false, Some((_, inner))) = (is_test(&m.attrs), &m.content) {
                        let mut child = self
                            .scopes
                            .last()
                            .map(|s| s.path.clone())
                            .unwrap_or_default();
                        child.push(m.ident.to_string());
                        self.items(child, inner);
                    }
                }
                other if !item_is_test(other) => self.visit_item(other),
                _ => {}
            }
        }
        self.scopes.pop();
    }
}

fn item_is_test(item: &syn::Item) -> bool {
    match item {
        syn::Item::Fn(f) => is_test(&f.attrs),
        syn::Item::Impl(i) => is_test(&i.attrs),
        syn::Item::Struct(s) => is_test(&s.attrs),
        syn::Item::Enum(e) => is_test(&e.attrs),
        syn::Item::Const(c) => is_test(&c.attrs),
        syn::Item::Static(s) => is_test(&s.attrs),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for Imports<'_> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() > 1 || matches!(segs.first().map(String::as_str), Some("crate" | "super")) {
            self.add(&segs, format!("path {}", segs.join("::")));
        }
        syn::visit::visit_path(self, p);
    }

    // Declarations and visibility (`pub(crate)`) are not imports.
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        match s {
            syn::Stmt::Item(syn::Item::Use(u)) => self.use_tree(&mut Vec::new(), &u.tree),
            other => syn::visit::visit_stmt(self, other),
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Macro bodies are tokens; most of ours are comma-separated expressions (format!, json!).
        type Args = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
        if let Ok(args) = m.parse_body_with(Args::parse_terminated) {
            for e in &args {
                self.visit_expr(e);
            }
        }
        syn::visit::visit_macro(self, m);
    }
}
