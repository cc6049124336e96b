//! Masking of borrower PII (names, phone numbers, ID numbers) for every output.
//! Unmasked values are shown only with `--show-pii`; errors and logs never carry them.

/// A borrower's name as outputs show it: an individual's masked ([`mask_name`]); a company's
/// name (`borrower_type` corporate) is not personal information and 对公 collection needs it,
/// so it is shown whole. Any other type is masked, to be safe.
pub fn mask_borrower_name(name: &str, borrower_type: &str) -> String {
    if borrower_type == "corporate" {
        name.to_string()
    } else {
        mask_name(name)
    }
}

/// 张三 → 张*, 张小三 → 张*三, 欧阳明明 → 欧**明, "John Smith" → J********h.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut s = String::new();
            s.push(chars[0]);
            s.extend(std::iter::repeat_n('*', n - 2));
            s.push(chars[n - 1]);
            s
        }
    }
}

/// Keeps `head` leading and `tail` trailing characters and stars the rest; a value too short
/// to show anything safely is starred whole.
fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.trim().chars().collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    if n <= head + tail {
        return "*".repeat(n);
    }
    let mut s: String = chars[..head].iter().collect();
    s.extend(std::iter::repeat_n('*', n - head - tail));
    s.extend(&chars[n - tail..]);
    s
}

/// 13812345678 → 138****5678.
pub fn mask_phone(phone: &str) -> String {
    keep_ends(phone, 3, 4)
}

/// 330102199001011234 → 330102********1234.
pub fn mask_id_number(id: &str) -> String {
    keep_ends(id, 6, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳明明"), "欧**明");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("John Smith"), "J********h");
    }

    #[test]
    fn only_individual_names_are_masked() {
        assert_eq!(
            mask_borrower_name("杭州明远科技有限公司", "corporate"),
            "杭州明远科技有限公司"
        );
        assert_eq!(mask_borrower_name("张小三", "individual"), "张*三");
        assert_eq!(mask_borrower_name("张小三", ""), "张*三");
        assert_eq!(mask_borrower_name("张小三", "Corporate "), "张*三");
    }

    #[test]
    fn phones_and_ids() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id_number("330102199001011234"), "330102********1234");
        assert_eq!(mask_id_number("33010219900101123X"), "330102********123X");
        assert_eq!(mask_phone("1234"), "****");
        assert_eq!(mask_phone(""), "");
    }
}
