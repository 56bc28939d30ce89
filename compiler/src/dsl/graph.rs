//! The graph a pipeline body builds while it runs.
//!
//! Bodies run on one thread; the graph under construction lives in a thread-local stack so
//! that generated code can add tasks without threading a context through user code. A nested
//! pipeline pushes its own graph while its body runs.

use super::channel::Argument;
use super::component::{ComponentDef, Resources, RetrySettings};
use std::cell::{Cell, RefCell};

/// Identifies a task: which graph it belongs to and its position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    pub graph: u32,
    pub index: usize,
}

/// The tasks of one pipeline body, in creation order.
#[derive(Clone)]
pub struct Graph {
    pub id: u32,
    pub tasks: Vec<TaskNode>,
}

/// One call of a component inside a pipeline.
#[derive(Clone)]
pub struct TaskNode {
    pub component: ComponentDef,
    /// Supplied inputs, in the component's declaration order.
    pub arguments: Vec<(&'static str, Argument)>,
    /// Tasks named by `.after()`.
    pub after: Vec<TaskId>,
    pub overrides: TaskOverrides,
}

/// kfp `PipelineTask` settings made on a task handle; they win over the component's own.
#[derive(Debug, Clone, Default)]
pub struct TaskOverrides {
    pub resources: Resources,
    pub env: Vec<(String, String)>,
    pub caching: Option<bool>,
    pub retry: Option<RetrySettings>,
    pub display_name: Option<String>,
}

thread_local! {
    static BUILDING: RefCell<Vec<Graph>> = const { RefCell::new(Vec::new()) };
    static NEXT_GRAPH_ID: Cell<u32> = const { Cell::new(0) };
}

/// Runs `body` with a fresh graph as the target of component calls, and returns that graph.
pub fn build_graph(body: impl FnOnce()) -> Graph {
    let id = NEXT_GRAPH_ID.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    });
    BUILDING.with(|stack| stack.borrow_mut().push(Graph { id, tasks: Vec::new() }));
    // Pop even if the body panics, so a caught panic leaves no stale graph behind.
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            BUILDING.with(|stack| stack.borrow_mut().pop());
        }
    }
    let guard = Pop;
    body();
    let graph = BUILDING.with(|stack| stack.borrow().last().cloned());
    drop(guard);
    graph.expect("the graph under construction disappeared")
}

/// Adds a task to the graph under construction.
///
/// # Panics
/// When called outside a pipeline body: components are plain functions there, and the
/// generated task builders are only meant for `#[pipeline]` bodies.
pub fn add_task(component: ComponentDef, arguments: Vec<(&'static str, Argument)>) -> TaskId {
    BUILDING.with(|stack| {
        let mut stack = stack.borrow_mut();
        let graph = stack.last_mut().unwrap_or_else(|| {
            panic!("component `{}` was called as a task outside a #[pipeline] body", component.name)
        });
        graph.tasks.push(TaskNode { component, arguments, after: Vec::new(), overrides: TaskOverrides::default() });
        TaskId { graph: graph.id, index: graph.tasks.len() - 1 }
    })
}

/// Changes a task of a graph still under construction.
pub(crate) fn with_task(id: TaskId, change: impl FnOnce(&mut TaskNode)) {
    BUILDING.with(|stack| {
        let mut stack = stack.borrow_mut();
        let graph = stack.iter_mut().rev().find(|g| g.id == id.graph);
        let graph = graph.expect("a task handle was used after its pipeline body finished");
        change(&mut graph.tasks[id.index]);
    })
}
