//! The only file-system code that writes a plan: every output into one directory.

use super::kube::{ADAPTER_RULES_FILE, render_adapter_rules, render_kubernetes};
use super::markdown::render_markdown;
use super::model::CapacityPlan;
use super::svg::render_svg;
use super::{PlanError, Result};
use std::path::{Path, PathBuf};

/// `plan.json`: the whole plan, pretty-printed, with the harness's `schema_version`.
pub fn render_json(plan: &CapacityPlan) -> Result<String> {
    Ok(::engine::schema::to_json_versioned(plan, crate::report::SCHEMA_VERSION, true)? + "\n")
}

/// Renders every output first (so a failing chart writes nothing), then writes
/// `plan.md`, `plan.json`, `plan.svg`, `kubernetes.yaml` and `prometheus-adapter-rules.yaml`
/// into `dir`. Returns the paths.
pub fn write_plan(dir: &Path, plan: &CapacityPlan) -> Result<Vec<PathBuf>> {
    let outputs = [
        ("plan.md", render_markdown(plan)?),
        ("plan.json", render_json(plan)?),
        ("plan.svg", render_svg(plan)?),
        ("kubernetes.yaml", render_kubernetes(plan)?),
        (ADAPTER_RULES_FILE, render_adapter_rules()?),
    ];
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PlanError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    for (name, text) in outputs {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}
