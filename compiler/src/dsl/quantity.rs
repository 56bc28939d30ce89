//! Kubernetes resource quantities, validated and converted as kfp 2.17 does.

/// Cores for a CPU quantity such as `8`, `0.5` or `500m`; `None` if malformed.
/// kfp accepts `^([0-9]*\.?[0-9]+)(m?)$`.
pub fn cpu_to_cores(text: &str) -> Option<f64> {
    let (number, scale) = match text.strip_suffix('m') {
        Some(n) => (n, 1e-3),
        None => (text, 1.0),
    };
    is_decimal(number).then(|| number.parse::<f64>().ok()).flatten().map(|v| v * scale)
}

/// Gigabytes (1e9 bytes, the unit of the deprecated `memoryLimit`) for a memory quantity such
/// as `32Gi`, `512M` or `1024`; `None` if malformed. kfp accepts
/// `^([0-9]*\.?[0-9]+)(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$`.
pub fn memory_to_gb(text: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 12] = [
        ("Ei", 1_152_921_504_606_846_976.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ti", 1_099_511_627_776.0),
        ("Gi", 1_073_741_824.0),
        ("Mi", 1_048_576.0),
        ("Ki", 1024.0),
        ("E", 1e18),
        ("P", 1e15),
        ("T", 1e12),
        ("G", 1e9),
        ("M", 1e6),
        ("K", 1e3),
    ];
    let (number, bytes_per_unit) = UNITS
        .iter()
        .find_map(|(suffix, scale)| text.strip_suffix(suffix).map(|n| (n, *scale)))
        .unwrap_or((text, 1.0));
    is_decimal(number).then(|| number.parse::<f64>().ok()).flatten().map(|v| v * bytes_per_unit / 1e9)
}

fn is_decimal(text: &str) -> bool {
    let mut parts = text.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match fraction {
        None => !whole.is_empty() && digits(whole),
        Some(f) => !f.is_empty() && digits(f) && digits(whole),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_convert_like_kfp() {
        assert_eq!(cpu_to_cores("8"), Some(8.0));
        assert_eq!(cpu_to_cores("500m"), Some(0.5));
        assert_eq!(cpu_to_cores(".5"), Some(0.5));
        for bad in ["", "m", "8 cores", "1.", "-1", "1e3"] {
            assert_eq!(cpu_to_cores(bad), None, "{bad}");
        }
    }

    #[test]
    fn memory_quantities_convert_to_gigabytes() {
        assert_eq!(memory_to_gb("32Gi"), Some(34.359738368));
        assert_eq!(memory_to_gb("256Mi"), Some(0.268435456));
        assert_eq!(memory_to_gb("1G"), Some(1.0));
        assert_eq!(memory_to_gb("1024"), Some(1.024e-6));
        for bad in ["", "Gi", "32GB", "32 Gi", "1.5.2G"] {
            assert_eq!(memory_to_gb(bad), None, "{bad}");
        }
    }
}
