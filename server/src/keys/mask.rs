//! How an access key id is shown to people: enough to tell keys apart, not enough to use.

/// `AKIA****WXYZ`: enough to tell keys apart, not enough to use one.
pub fn mask(access_key_id: &str) -> String {
    if access_key_id.len() <= 8 {
        return "****".into();
    }
    format!(
        "{}****{}",
        &access_key_id[..4],
        &access_key_id[access_key_id.len() - 4..]
    )
}
