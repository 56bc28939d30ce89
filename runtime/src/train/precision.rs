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
}
