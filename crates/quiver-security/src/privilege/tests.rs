use super::*;

#[test]
fn both_spellings_parse_and_round_trip() {
    for &p in Privilege::VARIANTS {
        assert_eq!(Privilege::parse(p.name()), Some(p));
        assert_eq!(Privilege::parse(p.proto_name()), Some(p));
        assert_eq!(p.proto_name(), format!("Privilege{}", p.name()));
    }
    assert_eq!(Privilege::parse("*"), Some(Privilege::All));
    assert_eq!(Privilege::parse("Search"), Some(Privilege::Search));
    assert_eq!(Privilege::parse("PrivilegeSearch"), Some(Privilege::Search));
}

#[test]
fn parsing_is_exact_and_case_sensitive() {
    for bad in
        ["search", "SEARCH", "Privilege", "", " Search", "Search ", "PrivilegePrivilegeSearch"]
    {
        assert_eq!(Privilege::parse(bad), None, "{bad:?}");
    }
    assert_eq!(ObjectType::parse("Collection"), Some(ObjectType::Collection));
    assert_eq!(ObjectType::parse("collection"), None);
}

#[test]
fn milvus_privilege_set_is_covered() {
    // Milvus's 56 and Quiver's ForceDelete.
    assert_eq!(Privilege::VARIANTS.len(), 58);
    assert_eq!(Privilege::VARIANTS.iter().filter(|p| p.level().is_none()).count(), 1);
    let count = |level| Privilege::VARIANTS.iter().filter(|p| p.level() == Some(level)).count();
    assert_eq!(count(PrivilegeLevel::Collection), 28);
    assert_eq!(count(PrivilegeLevel::Database), 5);
    assert_eq!(count(PrivilegeLevel::Cluster), 24);
}
