//! The dependency graph of a registry, as Mermaid or Graphviz DOT.

use std::fmt::Write as _;

use crate::provider::Registry;
use crate::scope::ScopeKind;

/// The providers of a registry and who depends on whom.
///
/// Edges go from a provider to each provider it depends on. The providers a
/// bundle brought in (`include(..)` in `#[providers(..)]`) are drawn inside a
/// box named after the bundle: a Mermaid `subgraph`, a DOT `cluster`.
///
/// ```
/// use axum_providers::Graph;
/// use axum_providers::prelude::*;
///
/// pub struct Config;
/// pub struct User;
///
/// #[provider(scope = app)]
/// fn config() -> Config { Config }
///
/// #[provider]
/// fn user(_config: Dep<Config>) -> User { User }
///
/// #[providers(config, user)]
/// struct AppProviders;
///
/// # fn main() {
/// let graph = Graph::of::<AppProviders>();
/// assert_eq!(
///     graph.mermaid(),
///     "graph TD\n    p0[\"config: Config (app)\"]\n    p1[\"user: User (request)\"]\n    p1 --> p0\n"
/// );
/// assert!(graph.dot().starts_with("digraph providers {\n"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Node {
    name: &'static str,
    output: String,
    scope: ScopeKind,
    exclusive: bool,
    deps: &'static [usize],
    bundle: Option<&'static str>,
}

impl Graph {
    /// The graph of registry `R`.
    #[must_use]
    pub fn of<R: Registry>() -> Self {
        let nodes = R::PROVIDERS
            .iter()
            .map(|entry| Node {
                name: entry.name(),
                output: short_type_name(entry.output_type()),
                scope: entry.scope(),
                exclusive: entry.is_exclusive(),
                deps: entry.deps(),
                bundle: entry.bundle(),
            })
            .collect();
        Self { nodes }
    }

    fn label(node: &Node) -> String {
        let access = if node.exclusive { ", exclusive" } else { "" };
        format!("{}: {} ({}{access})", node.name, node.output, node.scope.as_str())
    }

    /// The bundles, in the order their first provider is listed, each with
    /// the indexes of its providers.
    fn bundles(&self) -> Vec<(&'static str, Vec<usize>)> {
        let mut bundles: Vec<(&'static str, Vec<usize>)> = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let Some(name) = node.bundle else { continue };
            match bundles.iter_mut().find(|(seen, _)| *seen == name) {
                Some((_, members)) => members.push(index),
                None => bundles.push((name, vec![index])),
            }
        }
        bundles
    }

    /// The graph in Mermaid syntax (`graph TD`), one node per provider, the
    /// providers of each bundle in a `subgraph`.
    #[must_use]
    pub fn mermaid(&self) -> String {
        let escape = |text: &str| text.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;");
        let mut out = String::from("graph TD\n");
        for (index, node) in self.nodes.iter().enumerate() {
            if node.bundle.is_none() {
                let _ = writeln!(out, "    p{index}[\"{}\"]", escape(&Self::label(node)));
            }
        }
        for (number, (name, members)) in self.bundles().into_iter().enumerate() {
            let _ = writeln!(out, "    subgraph b{number}[\"bundle {}\"]", escape(name));
            for index in members {
                let _ = writeln!(out, "        p{index}[\"{}\"]", escape(&Self::label(&self.nodes[index])));
            }
            out.push_str("    end\n");
        }
        for (index, node) in self.nodes.iter().enumerate() {
            for dep in node.deps {
                let _ = writeln!(out, "    p{index} --> p{dep}");
            }
        }
        out
    }

    /// The graph in Graphviz DOT syntax.
    #[must_use]
    pub fn dot(&self) -> String {
        let escape = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
        let node_line = |index: usize, node: &Node| {
            let style = match node.scope {
                ScopeKind::App => "bold",
                ScopeKind::Request => "solid",
                ScopeKind::Transient => "dashed",
            };
            format!("p{index} [label=\"{}\", style={style}];", escape(&Self::label(node)))
        };
        let mut out = String::from("digraph providers {\n    rankdir=TB;\n    node [shape=box];\n");
        for (index, node) in self.nodes.iter().enumerate() {
            if node.bundle.is_none() {
                let _ = writeln!(out, "    {}", node_line(index, node));
            }
        }
        for (number, (name, members)) in self.bundles().into_iter().enumerate() {
            let _ =
                writeln!(out, "    subgraph cluster_{number} {{\n        label=\"bundle {}\";", escape(name));
            for index in members {
                let _ = writeln!(out, "        {}", node_line(index, &self.nodes[index]));
            }
            out.push_str("    }\n");
        }
        for (index, node) in self.nodes.iter().enumerate() {
            for dep in node.deps {
                let _ = writeln!(out, "    p{index} -> p{dep};");
            }
        }
        out.push_str("}\n");
        out
    }
}

/// `alloc::string::String` → `String`, `sqlx_core::pool::Pool<sqlx_core::any::Any>` → `Pool<Any>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

impl<R: Registry> crate::App<R> {
    /// The dependency graph of this app's providers (Mermaid or DOT).
    #[must_use]
    pub fn graph(&self) -> Graph {
        Graph::of::<R>()
    }
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(short_type_name("sqlx_core::pool::Pool<sqlx_core::any::Any>"), "Pool<Any>");
        assert_eq!(
            short_type_name("sqlx_core::transaction::Transaction<'static, sqlx_postgres::Postgres>"),
            "Transaction<'static, Postgres>"
        );
        assert_eq!(short_type_name("(u8, core::option::Option<i64>)"), "(u8, Option<i64>)");
    }
}
