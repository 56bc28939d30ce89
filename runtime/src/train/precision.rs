//! Lightning's `precision`: "32", "16-mixed" (autocast to f16 + dynamic loss scaling) and
//! "bf16-mixed" (autocast to bf16). tch's autocast is CUDA-only, so on CPU the mixed modes fall
//! back to 32-bit with a message.
use tch::{Device, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    F32,
    F16Mixed,
    Bf16Mixed,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "32" | "32-true" => Ok(Precision::F32),
            "16-mixed" => Ok(Precision::F16Mixed),
            "bf16-mixed" => Ok(Precision::Bf16Mixed),
            other => Err(format!("precision {other:?} is not one of \"32\", \"16-mixed\", \"bf16-mixed\"")),
        }
    }
}

impl Precision {
    /// The precision actually used on `device`, with the message to print when it differs.
    pub fn effective(self, device: Device) -> (Precision, Option<String>) {
        if self != Precision::F32 && !device.is_cuda() {
            let message = format!(
                "precision {self:?} needs CUDA (libtorch's autocast is CUDA-only here); training on {device:?} in 32-bit"
            );
            return (Precision::F32, Some(message));
        }
        (self, None)
    }

    /// Runs `forward` under autocast for the mixed modes.
    pub fn autocast<T>(self, forward: impl FnOnce() -> T) -> T {
        match self {
            Precision::F32 => forward(),
            Precision::F16Mixed | Precision::Bf16Mixed => {
                unsafe { super::ffi::kfp_autocast_set_cuda_bf16(i32::from(self == Precision::Bf16Mixed)) };
                tch::autocast(true, forward)
            }
        }
    }

}

/// `torch.amp.GradScaler` for "16-mixed": scales the loss, unscales gradients, skips steps with
/// non-finite gradients and adapts the scale (x2 after 2000 good steps, x0.5 on overflow).
pub struct LossScaler {
    scale: Tensor,
    growth_tracker: Tensor,
    found_inf: Tensor,
}

impl LossScaler {
    pub fn new(device: Device, initial_scale: f64) -> Self {
        LossScaler {
            scale: Tensor::from_slice(&[initial_scale as f32]).to_device(device),
            growth_tracker: Tensor::from_slice(&[0i32]).to_device(device),
            found_inf: Tensor::from_slice(&[0f32]).to_device(device),
        }
    }

    pub fn scale_value(&self) -> f64 {
        f64::try_from(&self.scale).unwrap_or(f64::NAN)
    }

    pub fn scale_loss(&self, loss: &Tensor) -> Tensor {
        loss * &self.scale
    }

    /// Unscales gradients in place; returns whether they are all finite (the step may be taken).
    pub fn unscale(&mut self, params: &[Tensor]) -> bool {
        let _guard = tch::no_grad_guard();
        let _ = self.found_inf.zero_();
        let inv_scale = self.scale.reciprocal();
        for param in params {
            let mut grad = param.grad();
            if grad.defined() {
                grad.internal_amp_non_finite_check_and_unscale(&mut self.found_inf, &inv_scale);
            }
        }
        f64::try_from(&self.found_inf).map(|v| v == 0.0).unwrap_or(false)
    }

    pub fn update(&mut self) {
        let _ = self.scale.internal_amp_update_scale_(&self.growth_tracker, &self.found_inf, 2.0, 0.5, 2000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_precision_on_cpu_falls_back_to_32_bit_with_a_message() {
        let asked: Precision = "bf16-mixed".parse().unwrap();
        let (used, message) = asked.effective(Device::Cpu);
        assert_eq!(used, Precision::F32);
        assert!(message.unwrap().contains("32-bit"));
        assert_eq!(Precision::F32.effective(Device::Cpu), (Precision::F32, None));
        assert_eq!("16-mixed".parse::<Precision>().unwrap().effective(Device::Cuda(0)).0, Precision::F16Mixed);
    }

    // The scaler's arithmetic runs on CPU tensors too (libtorch has CPU kernels for both amp ops),
    // so its logic is tested here although the trainer uses it on CUDA only.

    /// A parameter whose loss `sum(p * values)` has gradient `values`.
    fn loss_with_gradient(values: &[f32]) -> (Tensor, Tensor) {
        let param = Tensor::zeros([values.len() as i64], (tch::Kind::Float, Device::Cpu)).set_requires_grad(true);
        let loss = (&param * Tensor::from_slice(values)).sum(tch::Kind::Float);
        (param, loss)
    }

    fn grad_values(param: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(param.grad()).unwrap()
    }

    #[test]
    fn the_loss_is_scaled_and_finite_gradients_unscaled_back() {
        let mut scaler = LossScaler::new(Device::Cpu, 1024.0);
        let (param, loss) = loss_with_gradient(&[0.5, -3.0, 1e-6]);
        scaler.scale_loss(&loss).backward();
        assert_eq!(grad_values(&param), [512.0, -3072.0, 1e-6 * 1024.0]);
        assert!(scaler.unscale(std::slice::from_ref(&param)), "finite gradients allow the step");
        assert_eq!(grad_values(&param), [0.5, -3.0, 1e-6]);
        scaler.update();
        assert_eq!(scaler.scale_value(), 1024.0, "one good step does not grow the scale");
    }

    #[test]
    fn a_non_finite_gradient_skips_the_step_halves_the_scale_and_restarts_growth() {
        let mut scaler = LossScaler::new(Device::Cpu, 1024.0);
        let (good, good_loss) = loss_with_gradient(&[1.0, 2.0]);
        good_loss.backward();
        for bad_value in [f32::INFINITY, f32::NAN, f32::NEG_INFINITY] {
            let (bad, bad_loss) = loss_with_gradient(&[1.0, bad_value]);
            bad_loss.backward();
            // One bad tensor among good ones is enough, wherever it is.
            assert!(!scaler.unscale(&[good.shallow_clone(), bad.shallow_clone()]), "{bad_value} must skip the step");
        }
        let before = scaler.scale_value();
        scaler.update();
        assert_eq!((before, scaler.scale_value()), (1024.0, 512.0));

        // found_inf starts clean at every unscale; 2000 good steps in a row double the scale.
        assert!((0..1999).all(|_| step(&mut scaler, 1.0)));
        assert_eq!(scaler.scale_value(), 512.0, "no growth before 2000 good steps");
        assert!(step(&mut scaler, 1.0));
        assert_eq!(scaler.scale_value(), 1024.0, "growth at the 2000th good step");
    }

    /// One optimizer step's scaler calls, as the trainer makes them; returns `unscale`'s verdict.
    fn step(scaler: &mut LossScaler, gradient: f32) -> bool {
        let (param, loss) = loss_with_gradient(&[gradient]);
        scaler.scale_loss(&loss).backward();
        let finite = scaler.unscale(&[param]);
        scaler.update();
        finite
    }

    #[test]
    fn an_overflow_resets_the_growth_count() {
        let mut scaler = LossScaler::new(Device::Cpu, 8.0);
        assert!((0..1500).all(|_| step(&mut scaler, 1.0)));
        assert!(!step(&mut scaler, f32::INFINITY));
        assert!((0..1999).all(|_| step(&mut scaler, 1.0)));
        // 1500 + 1999 good steps, but never 2000 in a row: only the backoff happened.
        assert_eq!(scaler.scale_value(), 4.0);
    }
}
