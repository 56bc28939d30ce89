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

/// The tasks and control-flow groups of one pipeline body.
#[derive(Clone)]
pub struct Graph {
    pub id: u32,
    pub tasks: Vec<TaskNode>,
    pub groups: Vec<GroupNode>,
    /// Tasks and groups in creation order (IR names are handed out in this order).
    pub order: Vec<Node>,
    /// Groups open while the body runs, innermost last.
    open: Vec<usize>,
    /// kfp's counter for generated names (`condition-N`, `for-loop-N`, `loop-item-param-N`).
    counter: u32,
    /// What the body returned: the pipeline's outputs, by output name.
    pub outputs: Vec<(&'static str, Argument)>,
    /// `OneOf`s in creation order (kfp numbers them in this order within their group).
    pub oneofs: Vec<super::oneof::OneOfNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Task(usize),
    Group(usize),
}

/// A control-flow group: a sub-DAG of the pipeline.
#[derive(Clone)]
pub struct GroupNode {
    pub kind: GroupKind,
    /// The enclosing group; `None` for the pipeline's own DAG.
    pub parent: Option<usize>,
    /// The number in its IR name (`condition-3`).
    pub number: u32,
}

#[derive(Clone)]
pub enum GroupKind {
    /// `If`/`Elif`/`Else` branch, taken when every condition holds.
    Condition(Vec<super::condition::Condition>),
    /// The wrapper around an `If` with `Elif`/`Else` branches (`condition-branches-N`).
    Branches,
    /// `ParallelFor`.
    Loop(super::control::LoopSpec),
    /// `ExitHandler`: `exit_task` runs after the group, however it ends.
    ExitHandler { exit_task: usize },
}

impl GroupKind {
    /// The IR name prefix of the group.
    pub fn prefix(&self) -> &'static str {
        match self {
            Self::Condition(_) => "condition",
            Self::Branches => "condition-branches",
            Self::Loop(_) => "for-loop",
            Self::ExitHandler { .. } => "exit-handler",
        }
    }
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
    /// The innermost group the task was created in.
    pub parent: Option<usize>,
}

/// kfp `PipelineTask` settings made on a task handle; they win over the component's own.
#[derive(Debug, Clone, Default)]
pub struct TaskOverrides {
    pub resources: Resources,
    /// Resource settings read from a channel at run time; each wins over its literal.
    pub resource_channels: std::collections::BTreeMap<super::resource_setting::ResourceField, Argument>,
    pub env: Vec<(String, String)>,
    pub caching: Option<bool>,
    pub retry: Option<RetrySettings>,
    pub display_name: Option<String>,
    /// Run even when upstream tasks failed (`ALL_UPSTREAM_TASKS_COMPLETED`).
    pub ignore_upstream_failure: bool,
    /// Pod settings from kfp-kubernetes (the platform document).
    pub kubernetes: super::kubernetes::KubernetesConfig,
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
    let graph = Graph { id, tasks: Vec::new(), groups: Vec::new(), order: Vec::new(), open: Vec::new(), counter: 0, outputs: Vec::new(), oneofs: Vec::new() };
    BUILDING.with(|stack| stack.borrow_mut().push(graph));
    // Pop even if the body panics, so a caught panic leaves no stale graph behind.
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            BUILDING.with(|stack| stack.borrow_mut().pop());
        }
    }
    let guard = Pop;
    body();
    std::mem::forget(guard);
    let graph = BUILDING.with(|stack| stack.borrow_mut().pop());
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
        let parent = graph.open.last().copied();
        graph.tasks.push(TaskNode { component, arguments, after: Vec::new(), overrides: TaskOverrides::default(), parent });
        graph.order.push(Node::Task(graph.tasks.len() - 1));
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

/// Identifies a group: which graph it belongs to and its position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId {
    pub graph: u32,
    pub index: usize,
}

/// Runs `graph_change` on the graph under construction.
pub(crate) fn with_graph<R>(what: &str, graph_change: impl FnOnce(&mut Graph) -> R) -> R {
    BUILDING.with(|stack| {
        let mut stack = stack.borrow_mut();
        let graph = stack.last_mut().unwrap_or_else(|| panic!("{what} can only be used inside a #[pipeline] body"));
        graph_change(graph)
    })
}

impl Graph {
    /// The next number of kfp's name counter.
    pub(crate) fn next_number(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    /// Opens a group inside the innermost open one; tasks created until `close_group` go in it.
    pub(crate) fn open_group(&mut self, kind: GroupKind, number: u32) -> GroupId {
        let parent = self.open.last().copied();
        self.open_group_in(kind, number, parent)
    }

    /// Opens a group inside `parent`.
    pub(crate) fn open_group_in(&mut self, kind: GroupKind, number: u32, parent: Option<usize>) -> GroupId {
        self.groups.push(GroupNode { kind, parent, number });
        let index = self.groups.len() - 1;
        self.order.push(Node::Group(index));
        self.open.push(index);
        GroupId { graph: self.id, index }
    }

    pub(crate) fn close_group(&mut self) {
        self.open.pop();
    }

    /// Whether `ancestor` is `group` or encloses it (`None` is the pipeline's own DAG).
    pub fn encloses(&self, ancestor: Option<usize>, group: Option<usize>) -> bool {
        let mut current = group;
        loop {
            if current == ancestor {
                return true;
            }
            match current {
                None => return false,
                Some(g) => current = self.groups[g].parent,
            }
        }
    }
}
