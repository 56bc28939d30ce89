//! env:// rendezvous as torchrun, PyTorchJob and Trainer v2 set it: who this process is in the
//! job (a worker's `RANK`, ...) or, before any rank exists, what a node launcher must start
//! (`PET_*`). Pure environment parsing: no libtorch needed, so `kfp train` has it too.

#[derive(Debug, thiserror::Error)]
pub enum DistError {
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    BadVar { name: &'static str, value: String, reason: String },
    #[error("environment variable {name} is required when {because}")]
    MissingVar { name: &'static str, because: &'static str },
    #[error("c10d {op} failed on rank {rank}: {message}")]
    Collective { op: &'static str, rank: usize, message: String },
}

/// Where this worker sits in the job: what torchrun exports to each process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerEnv {
    pub rank: usize,
    pub world_size: usize,
    pub local_rank: usize,
    pub local_world_size: usize,
    pub master_addr: String,
    pub master_port: u16,
}

/// What a node-level launcher needs: Trainer v2's `PET_*` variables, or single-node defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEnv {
    pub nnodes: usize,
    pub node_rank: usize,
    /// `PET_NPROC_PER_NODE` when it is a number (torchrun also accepts `auto`/`gpu`/`cpu`, which
    /// leave the choice to the launcher's caller).
    pub nproc_per_node: Option<usize>,
    pub master_addr: Option<String>,
    pub master_port: Option<u16>,
}

/// The process's role, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendezvous {
    /// `RANK` is set (torchrun, PyTorchJob, our launcher), or `LOCAL_RANK` with `PET_*`.
    Worker(WorkerEnv),
    /// No rank yet: this process may become the launcher for its node.
    Node(NodeEnv),
}

impl NodeEnv {
    /// The node's `PET_*` variables (all optional), ignoring any `RANK`: what `kfp train` reads
    /// for the flags it was not given.
    pub fn from_env() -> Result<Self, DistError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, DistError> {
        let node = NodeEnv {
            nnodes: parse_or(&get, "PET_NNODES", 1, 1)?,
            node_rank: parse_or(&get, "PET_NODE_RANK", 0, 0)?,
            nproc_per_node: match get("PET_NPROC_PER_NODE") {
                Some(v) if matches!(v.as_str(), "auto" | "gpu" | "cpu") => None,
                Some(_) => Some(parse_or(&get, "PET_NPROC_PER_NODE", 1, 1)?),
                None => None,
            },
            master_addr: get("PET_MASTER_ADDR"),
            master_port: match get("PET_MASTER_PORT") {
                Some(_) => Some(parse_or(&get, "PET_MASTER_PORT", 0, 1)?),
                None => None,
            },
        };
        if node.node_rank >= node.nnodes {
            return Err(bad("PET_NODE_RANK", node.node_rank, format!("must be below PET_NNODES={}", node.nnodes)));
        }
        Ok(node)
    }
}

impl Rendezvous {
    pub fn from_env() -> Result<Self, DistError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`Rendezvous::from_env`] over any variable source (tests, dry runs).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, DistError> {
        let node = NodeEnv::from_lookup(&get)?;
        let because = "RANK or LOCAL_RANK is set (a distributed worker)";
        let master_addr = || {
            get("MASTER_ADDR")
                .or_else(|| node.master_addr.clone())
                .ok_or(DistError::MissingVar { name: "MASTER_ADDR", because })
        };
        let master_port = || -> Result<u16, DistError> {
            match get("MASTER_PORT") {
                Some(_) => parse_or(&get, "MASTER_PORT", 0, 1),
                None => node.master_port.ok_or(DistError::MissingVar { name: "MASTER_PORT", because }),
            }
        };
        // A Training Operator v1 PyTorchJob pod gets the pod's node rank in RANK (and
        // WORLD_SIZE = nodes x nproc), no LOCAL_RANK: with several processes per node it is a
        // node launcher, not a worker.
        let operator_pod = get("RANK").is_some()
            && get("LOCAL_RANK").is_none()
            && node.nproc_per_node.is_some_and(|n| n > 1)
            && get("RANK") == get("PET_NODE_RANK");
        if operator_pod {
            let master_addr = node.master_addr.clone().or_else(|| get("MASTER_ADDR"));
            let master_port = match node.master_port {
                Some(port) => Some(port),
                None if get("MASTER_PORT").is_some() => Some(parse_or(&get, "MASTER_PORT", 0, 1)?),
                None => None,
            };
            return Ok(Rendezvous::Node(NodeEnv { master_addr, master_port, ..node }));
        }
        if get("RANK").is_some() {
            let world_size: usize = parse_or(&get, "WORLD_SIZE", 0, 1)?;
            if get("WORLD_SIZE").is_none() {
                return Err(DistError::MissingVar { name: "WORLD_SIZE", because });
            }
            let rank: usize = parse_or(&get, "RANK", 0, 0)?;
            if rank >= world_size {
                return Err(bad("RANK", rank, format!("must be below WORLD_SIZE={world_size}")));
            }
            let local_world_size = parse_or(&get, "LOCAL_WORLD_SIZE", world_size / node.nnodes.max(1), 1)?;
            let local_rank = parse_or(&get, "LOCAL_RANK", rank % local_world_size.max(1), 0)?;
            return Ok(Rendezvous::Worker(WorkerEnv {
                rank,
                world_size,
                local_rank,
                local_world_size,
                master_addr: master_addr()?,
                master_port: master_port()?,
            }));
        }
        if get("LOCAL_RANK").is_some() && get("PET_NNODES").is_some() {
            // Trainer v2 without torchrun: derive the global rank from the node's position.
            let Some(nproc) = node.nproc_per_node else {
                return Err(DistError::MissingVar { name: "PET_NPROC_PER_NODE", because: "LOCAL_RANK and PET_NNODES are set" });
            };
            let local_rank: usize = parse_or(&get, "LOCAL_RANK", 0, 0)?;
            if local_rank >= nproc {
                return Err(bad("LOCAL_RANK", local_rank, format!("must be below PET_NPROC_PER_NODE={nproc}")));
            }
            return Ok(Rendezvous::Worker(WorkerEnv {
                rank: node.node_rank * nproc + local_rank,
                world_size: node.nnodes * nproc,
                local_rank,
                local_world_size: nproc,
                master_addr: master_addr()?,
                master_port: master_port()?,
            }));
        }
        Ok(Rendezvous::Node(node))
    }
}

pub(super) fn bad(name: &'static str, value: impl ToString, reason: String) -> DistError {
    DistError::BadVar { name, value: value.to_string(), reason }
}

fn parse_or<T>(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: T, min: T) -> Result<T, DistError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(name) else { return Ok(default) };
    let value: T = raw.trim().parse().map_err(|_| bad(name, &raw, "not a non-negative integer".into()))?;
    if value < min {
        return Err(bad(name, &raw, format!("must be at least {min}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rendezvous(vars: &[(&str, &str)]) -> Result<Rendezvous, DistError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Rendezvous::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn torchrun_variables_make_a_worker() {
        let r = rendezvous(&[
            ("RANK", "3"),
            ("WORLD_SIZE", "4"),
            ("LOCAL_RANK", "1"),
            ("LOCAL_WORLD_SIZE", "2"),
            ("MASTER_ADDR", "10.0.0.1"),
            ("MASTER_PORT", "29500"),
        ])
        .unwrap();
        let Rendezvous::Worker(w) = r else { panic!("{r:?}") };
        assert_eq!((w.rank, w.world_size, w.local_rank, w.local_world_size), (3, 4, 1, 2));
        assert_eq!((w.master_addr.as_str(), w.master_port), ("10.0.0.1", 29500));
    }

    #[test]
    fn trainer_v2_pet_variables_give_ranks_per_node() {
        let pet = [
            ("PET_NNODES", "2"),
            ("PET_NODE_RANK", "1"),
            ("PET_NPROC_PER_NODE", "4"),
            ("PET_MASTER_ADDR", "trainjob-node-0-0.svc"),
            ("PET_MASTER_PORT", "29400"),
        ];
        let Rendezvous::Node(node) = rendezvous(&pet).unwrap() else { panic!() };
        assert_eq!((node.nnodes, node.node_rank, node.nproc_per_node), (2, 1, Some(4)));
        let mut with_local = pet.to_vec();
        with_local.push(("LOCAL_RANK", "2"));
        let Rendezvous::Worker(w) = rendezvous(&with_local).unwrap() else { panic!() };
        assert_eq!((w.rank, w.world_size, w.local_rank, w.local_world_size), (6, 8, 2, 4));
        assert_eq!((w.master_addr.as_str(), w.master_port), ("trainjob-node-0-0.svc", 29400));
    }

    #[test]
    fn a_pytorchjob_pod_with_several_processes_is_a_node_launcher() {
        let pod = [
            ("RANK", "1"),
            ("WORLD_SIZE", "8"),
            ("MASTER_ADDR", "job-master-0"),
            ("MASTER_PORT", "23456"),
            ("PET_NNODES", "2"),
            ("PET_NODE_RANK", "1"),
            ("PET_NPROC_PER_NODE", "4"),
        ];
        let Rendezvous::Node(node) = rendezvous(&pod).unwrap() else { panic!() };
        assert_eq!((node.nnodes, node.node_rank, node.nproc_per_node), (2, 1, Some(4)));
        assert_eq!((node.master_addr.as_deref(), node.master_port), (Some("job-master-0"), Some(23456)));
        // With one process per node the pod itself is the worker.
        let mut single = pod.to_vec();
        single.retain(|(k, _)| *k != "PET_NPROC_PER_NODE");
        single.push(("PET_NPROC_PER_NODE", "1"));
        single.retain(|(k, _)| *k != "WORLD_SIZE");
        single.push(("WORLD_SIZE", "2"));
        let Rendezvous::Worker(w) = rendezvous(&single).unwrap() else { panic!() };
        assert_eq!((w.rank, w.world_size), (1, 2));
    }

    #[test]
    fn bad_variables_are_named() {
        let e = rendezvous(&[("RANK", "2"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"), ("MASTER_PORT", "1")]);
        assert!(e.unwrap_err().to_string().contains("RANK=\"2\""));
        let e = rendezvous(&[("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "1")]).unwrap_err();
        assert!(e.to_string().contains("MASTER_ADDR"), "{e}");
        let e = rendezvous(&[("PET_NNODES", "two")]).unwrap_err();
        assert!(e.to_string().contains("PET_NNODES=\"two\""), "{e}");
        assert!(matches!(rendezvous(&[]).unwrap(), Rendezvous::Node(NodeEnv { nnodes: 1, .. })));
    }
}
