//! Optimizers (SGD, Adam, AdamW, as torch.optim's single-tensor algorithms) and learning-rate
//! schedules. Written over tch tensors rather than tch's C++ optimizers because their state
//! (momentum, Adam moments) must be saved in checkpoints, which tch cannot do.
use std::collections::HashMap;

use tch::Tensor;

#[derive(Debug, Clone, PartialEq)]
pub enum OptimizerKind {
    Sgd { momentum: f64, nesterov: bool },
    Adam { beta1: f64, beta2: f64, eps: f64 },
    /// Decoupled weight decay (Loshchilov & Hutter).
    AdamW { beta1: f64, beta2: f64, eps: f64 },
}

impl OptimizerKind {
    pub fn adam() -> Self {
        OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
    pub fn adamw() -> Self {
        OptimizerKind::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
    pub fn sgd(momentum: f64) -> Self {
        OptimizerKind::Sgd { momentum, nesterov: false }
    }
}

/// Learning rate as a function of the optimizer step (0-based) and epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum LrSchedule {
    Constant,
    /// `StepLR`: multiply by `gamma` every `every_epochs` epochs.
    StepDecay { every_epochs: usize, gamma: f64 },
    /// Linear warm-up from 0 over `warmup_steps`, then cosine decay to `min_lr` at the last step.
    WarmupCosine { warmup_steps: usize, min_lr: f64 },
}

impl LrSchedule {
    pub fn lr(&self, base_lr: f64, step: usize, epoch: usize, total_steps: usize) -> f64 {
        match *self {
            LrSchedule::Constant => base_lr,
            LrSchedule::StepDecay { every_epochs, gamma } => {
                base_lr * gamma.powi((epoch / every_epochs.max(1)) as i32)
            }
            LrSchedule::WarmupCosine { warmup_steps, min_lr } => {
                if step < warmup_steps {
                    return base_lr * (step + 1) as f64 / warmup_steps as f64;
                }
                let span = total_steps.saturating_sub(warmup_steps).max(1) as f64;
                let progress = ((step - warmup_steps) as f64 / span).min(1.0);
                min_lr + (base_lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

/// One optimizer over a fixed, ordered parameter list.
pub struct Optimizer {
    kind: OptimizerKind,
    weight_decay: f64,
    params: Vec<Tensor>,
    /// Per parameter: momentum buffer (SGD) or first moment (Adam).
    first: Vec<Tensor>,
    /// Per parameter: second moment (Adam only).
    second: Vec<Tensor>,
    step: i64,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, weight_decay: f64, params: Vec<Tensor>) -> Self {
        let zeros = |p: &Tensor| p.zeros_like().set_requires_grad(false);
        let first = params.iter().map(zeros).collect();
        let second = match kind {
            OptimizerKind::Sgd { .. } => Vec::new(),
            _ => params.iter().map(zeros).collect(),
        };
        Optimizer { kind, weight_decay, params, first, second, step: 0 }
    }

    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Optimizer steps taken so far.
    pub fn step_count(&self) -> i64 {
        self.step
    }

    pub fn zero_grad(&self) {
        for param in &self.params {
            let mut grad = param.grad();
            if grad.defined() {
                let _ = grad.detach_();
                let _ = grad.zero_();
            }
        }
    }

    pub fn step(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let t = self.step as i32;
        let wd = self.weight_decay;
        for i in 0..self.params.len() {
            let mut param = self.params[i].shallow_clone();
            let mut grad = param.grad();
            if !grad.defined() {
                continue;
            }
            match self.kind {
                OptimizerKind::Sgd { momentum, nesterov } => {
                    if wd != 0.0 {
                        grad = &grad + &param * wd;
                    }
                    if momentum != 0.0 {
                        let buf = &mut self.first[i];
                        let _ = buf.g_mul_scalar_(momentum).g_add_(&grad);
                        grad = if nesterov { &grad + &*buf * momentum } else { buf.shallow_clone() };
                    }
                    let _ = param.g_add_(&(grad * -lr));
                }
                OptimizerKind::Adam { beta1, beta2, eps } | OptimizerKind::AdamW { beta1, beta2, eps } => {
                    if wd != 0.0 {
                        if matches!(self.kind, OptimizerKind::AdamW { .. }) {
                            let _ = param.g_mul_scalar_(1.0 - lr * wd);
                        } else {
                            grad = &grad + &param * wd;
                        }
                    }
                    // torch's single-tensor Adam; v's update as a lerp towards g^2 and the step
                    // size folded into the denominator keep it to 8 passes over the weights.
                    let (m, v) = (&mut self.first[i], &mut self.second[i]);
                    let _ = m.lerp_(&grad, 1.0 - beta1);
                    let _ = v.lerp_(&grad.square(), 1.0 - beta2);
                    let step_size = lr / (1.0 - beta1.powi(t));
                    let bias2_sqrt = (1.0 - beta2.powi(t)).sqrt();
                    let mut denom = v.sqrt();
                    let _ = denom.g_div_scalar_(bias2_sqrt).g_add_scalar_(eps).g_mul_scalar_(-1.0 / step_size);
                    let _ = param.addcdiv_(m, &denom);
                }
            }
        }
    }

    /// Named state tensors for a checkpoint (`first.<i>`, `second.<i>`).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let first = self.first.iter().enumerate().map(|(i, t)| (format!("first.{i}"), t.shallow_clone()));
        let second = self.second.iter().enumerate().map(|(i, t)| (format!("second.{i}"), t.shallow_clone()));
        first.chain(second).collect()
    }

    /// Restores what [`Optimizer::state_tensors`] saved; names the first missing or mismatched tensor.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, step: i64) -> Result<(), String> {
        let _guard = tch::no_grad_guard();
        for (prefix, slots) in [("first", &mut self.first), ("second", &mut self.second)] {
            for (i, slot) in slots.iter_mut().enumerate() {
                let name = format!("{prefix}.{i}");
                let saved = tensors.get(&name).ok_or_else(|| format!("optimizer tensor {name} missing"))?;
                if saved.size() != slot.size() {
                    return Err(format!("optimizer tensor {name} has shape {:?}, model needs {:?}", saved.size(), slot.size()));
                }
                slot.copy_(saved);
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Scales gradients so that their global L2 norm is at most `max_norm` (`clip_grad_norm_`);
/// returns the norm before clipping.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) -> f64 {
    let _guard = tch::no_grad_guard();
    let norms: Vec<Tensor> = params.iter().map(|p| p.grad()).filter(|g| g.defined()).map(|g| g.norm()).collect();
    if norms.is_empty() {
        return 0.0;
    }
    let total = f64::try_from(Tensor::stack(&norms, 0).norm()).unwrap_or(f64::NAN);
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for param in params {
            let mut grad = param.grad();
            if grad.defined() {
                let _ = grad.g_mul_scalar_(coef);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_cosine_rises_then_decays_to_min() {
        let s = LrSchedule::WarmupCosine { warmup_steps: 10, min_lr: 0.0 };
        assert!((s.lr(1.0, 0, 0, 110) - 0.1).abs() < 1e-12);
        assert!((s.lr(1.0, 9, 0, 110) - 1.0).abs() < 1e-12);
        assert!((s.lr(1.0, 60, 0, 110) - 0.5).abs() < 1e-12);
        assert!(s.lr(1.0, 110, 0, 110).abs() < 1e-12);
        let step = LrSchedule::StepDecay { every_epochs: 2, gamma: 0.5 };
        assert_eq!(step.lr(1.0, 0, 3, 0), 0.5);
    }

    #[test]
    fn adam_first_step_moves_each_weight_by_lr() {
        // With bias correction, Adam's first update is lr * sign(grad) (up to eps).
        let p = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let loss = (&p * Tensor::from_slice(&[3.0f32, -0.5])).sum(tch::Kind::Float);
        loss.backward();
        let mut opt = Optimizer::new(OptimizerKind::adam(), 0.0, vec![p.shallow_clone()]);
        opt.step(0.1);
        let v: Vec<f32> = Vec::try_from(p.detach()).unwrap();
        assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] + 1.9).abs() < 1e-6, "{v:?}");
    }
}
