//! Which components a binary can execute: every container component its pipelines use,
//! found by walking the pipelines' graphs (no linker-section registration that could drop one).

use crate::Pipeline;
use kfp_compiler::dsl::{Graph, Implementation};
use kfp_runtime::executor::ComponentEntry;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("two different components are both named `{0}`; rename one so the executor can tell them apart")]
    DuplicateName(&'static str),
}

/// Component name -> executor entry.
pub struct Registry {
    components: BTreeMap<&'static str, ComponentEntry>,
}

impl Registry {
    pub fn from_pipelines(pipelines: &[&dyn Pipeline]) -> Result<Self, RegistryError> {
        let mut registry = Registry { components: BTreeMap::new() };
        for pipeline in pipelines {
            registry.add_graph(&pipeline.definition().graph)?;
        }
        Ok(registry)
    }

    fn add_graph(&mut self, graph: &Graph) -> Result<(), RegistryError> {
        for task in &graph.tasks {
            match &task.component.implementation {
                Implementation::Graph(inner) => self.add_graph(inner)?,
                Implementation::Importer(_) | Implementation::BackendOp(_) => {}
                Implementation::Container(container) => {
                    let entry = container.entry.as_ref().and_then(|e| e.downcast_ref::<ComponentEntry>());
                    let Some(&entry) = entry else { continue };
                    let name = task.component.name;
                    match self.components.insert(name, entry) {
                        Some(previous) if !std::ptr::fn_addr_eq(previous, entry) => {
                            return Err(RegistryError::DuplicateName(name));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// The table the executor dispatches on.
    pub fn entries(&self) -> Vec<(&str, ComponentEntry)> {
        self.components.iter().map(|(name, entry)| (*name, *entry)).collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.components.keys().copied()
    }
}
