//! Conditions for `If`/`Elif`: one comparison of a parameter channel with a value or another
//! channel of the same type, as kfp's `dsl.If(task.output == 'heads')`.

use super::channel::{Argument, Param};
use super::types::ParamType;
use crate::ir::ParameterType;

/// A comparison, possibly negated (later branches negate the earlier ones).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub left: Operand,
    pub operator: &'static str,
    pub right: Operand,
    pub negate: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Channel(Argument, ParameterType),
    Constant(serde_json::Value, ParameterType),
}

impl Condition {
    pub(crate) fn negated(&self) -> Condition {
        Condition { negate: !self.negate, ..self.clone() }
    }
}

/// Types a condition can compare: strings, numbers and bools.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared in a condition",
    note = "conditions compare String, integer, float and bool parameters"
)]
pub trait Comparable: ParamType {}
impl Comparable for String {}
impl Comparable for bool {}
impl Comparable for f32 {}
impl Comparable for f64 {}
impl Comparable for i8 {}
impl Comparable for i16 {}
impl Comparable for i32 {}
impl Comparable for i64 {}
impl Comparable for u8 {}
impl Comparable for u16 {}
impl Comparable for u32 {}
impl Comparable for u64 {}

/// What a `Param<T>` can be compared with: a `T` value or another `Param<T>`.
#[diagnostic::on_unimplemented(
    message = "a `Param<{T}>` cannot be compared with `{Self}`",
    note = "compare with a `{T}` value or another `Param<{T}>`"
)]
pub trait IntoOperand<T> {
    fn into_operand(self) -> Operand;
}

impl<T: Comparable> IntoOperand<T> for T {
    fn into_operand(self) -> Operand {
        Operand::Constant(serde_json::to_value(self).unwrap_or(serde_json::Value::Null), T::TYPE)
    }
}

impl<T: Comparable> IntoOperand<T> for Param<T> {
    fn into_operand(self) -> Operand {
        Operand::Channel(self.to_argument(), T::TYPE)
    }
}

impl IntoOperand<String> for &str {
    fn into_operand(self) -> Operand {
        Operand::Constant(serde_json::Value::String(self.to_owned()), ParameterType::String)
    }
}

impl IntoOperand<i64> for i32 {
    fn into_operand(self) -> Operand {
        Operand::Constant(i64::from(self).into(), ParameterType::NumberInteger)
    }
}

macro_rules! comparisons {
    ($($method:ident => $operator:literal),*) => {
        impl<T: Comparable> Param<T> {
            $(
                #[doc = concat!("`self ", $operator, " other`, for `If`/`Elif`.")]
                pub fn $method(self, other: impl IntoOperand<T>) -> Condition {
                    Condition {
                        left: Operand::Channel(self.to_argument(), T::TYPE),
                        operator: $operator,
                        right: other.into_operand(),
                        negate: false,
                    }
                }
            )*
        }
    };
}
comparisons!(eq => "==", ne => "!=", lt => "<", le => "<=", gt => ">", ge => ">=");
