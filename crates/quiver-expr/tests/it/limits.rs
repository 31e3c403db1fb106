//! Limits and arithmetic faults: every bound is enforced with a typed error at a position,
//! nothing deep overflows the stack, and division by zero and overflow are clean errors.

use std::collections::HashMap;

use quiver_core::{Column, ColumnData, DataType, FieldSpec, Schema, SchemaSpec};
use quiver_expr::{EvalError, ExprErrorKind, Limits, TemplateValue, compile, parse};

fn schema() -> Schema {
    let nullable =
        |name: &str, data_type| FieldSpec { nullable: true, ..FieldSpec::new(name, data_type) };
    Schema::new(SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            nullable("age", DataType::Int64),
            FieldSpec::new("d", DataType::Double),
            FieldSpec::new("name", DataType::VarChar { max_length: 16 }),
            FieldSpec::new("meta", DataType::Json),
            FieldSpec::new("vec", DataType::FloatVector { dim: 1 }),
        ],
        enable_dynamic_field: false,
    })
    .expect("valid schema")
}

/// Rows: `age` = 0, 5, i64::MAX, i64::MIN, null; `d` = 0.0, 1.0, ...
fn columns() -> (Vec<Column>, usize) {
    let columns = vec![
        Column::new(ColumnData::Int64(vec![1, 2, 3, 4, 5])),
        Column {
            data: ColumnData::Int64(vec![0, 5, i64::MAX, i64::MIN, 0]),
            validity: Some(vec![true, true, true, true, false]),
        },
        Column::new(ColumnData::Double(vec![0.0, 1.0, 2.0, 1e300, -1.0])),
        Column::new(ColumnData::VarChar(vec![
            "a".into(),
            "b".into(),
            "c".into(),
            "d".into(),
            "e".into(),
        ])),
        Column::new(ColumnData::Json(vec!["{}".into(); 5])),
        Column::new(ColumnData::FloatVector { dim: 1, data: vec![0.0; 5] }),
    ];
    (columns, 5)
}

#[track_caller]
fn parse_error(text: &str, limits: &Limits) -> ExprErrorKind {
    match parse(text, limits) {
        Ok(expr) => panic!("parsed: {expr}"),
        Err(e) => {
            assert!(e.span.end <= text.len(), "span within the input");
            *e.kind
        }
    }
}

#[track_caller]
fn check_error(text: &str) -> ExprErrorKind {
    match compile(text, &HashMap::new(), &schema(), &Limits::default()) {
        Ok(plan) => panic!("checked: {plan}"),
        Err(e) => *e.kind,
    }
}

#[track_caller]
fn eval(text: &str) -> Result<Vec<usize>, EvalError> {
    let plan = compile(text, &HashMap::new(), &schema(), &Limits::default()).expect("valid");
    let (columns, n) = columns();
    plan.evaluate(&columns, n).map(|bits| bits.iter().collect())
}

#[test]
fn expression_length_is_bounded() {
    let limits = Limits::default();
    let fits = format!("1 == 1{}", " ".repeat(limits.max_expr_len - 6));
    assert!(parse(&fits, &limits).is_ok());
    let too_long = format!("{fits} ");
    assert_eq!(
        parse_error(&too_long, &limits),
        ExprErrorKind::TooLong { len: 65_537, max: 65_536 }
    );
    let e = parse(&too_long, &limits).unwrap_err();
    assert_eq!(e.span.column(), 65_537);
}

fn nested(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn nesting_depth_is_bounded_at_64() {
    let limits = Limits::default();
    // `x` is one level and each pair of parentheses one more.
    assert!(parse(&nested(63, "x"), &limits).is_ok());
    assert_eq!(parse_error(&nested(64, "x"), &limits), ExprErrorKind::TooDeep { max: 64 });
    assert!(parse(&nested(62, "a > 1"), &limits).is_ok());
    assert_eq!(parse_error(&nested(63, "a > 1"), &limits), ExprErrorKind::TooDeep { max: 64 });
    let nots = format!("{}x", "not ".repeat(64));
    assert_eq!(parse_error(&nots, &limits), ExprErrorKind::TooDeep { max: 64 });
    let sums = format!("x > 1{}", " + 1".repeat(70));
    assert_eq!(parse_error(&sums, &limits), ExprErrorKind::TooDeep { max: 64 });
    let lists = format!("x in {}1{}", "[".repeat(70), "]".repeat(70));
    assert_eq!(parse_error(&lists, &limits), ExprErrorKind::TooDeep { max: 64 });
}

#[test]
fn long_and_or_chains_are_flat() {
    let text = vec!["age == 1"; 2000].join(" or ");
    let plan = compile(&text, &HashMap::new(), &schema(), &Limits::default()).expect("valid");
    let (columns, n) = columns();
    assert_eq!(plan.evaluate(&columns, n).expect("evaluates").count(), 0);
}

#[test]
fn a_million_open_parentheses_do_not_overflow_the_stack() {
    let text = "(".repeat(1_000_000);
    assert!(matches!(parse_error(&text, &Limits::default()), ExprErrorKind::TooLong { .. }));
    // Even when the configuration allows the length and asks for an absurd depth, the depth
    // stays within the ceiling.
    let limits = Limits { max_expr_len: 4_000_000, max_depth: 1_000_000, ..Limits::default() };
    for text in [
        "(".repeat(1_000_000),
        "not ".repeat(1_000_000),
        "- ".repeat(1_000_000),
        "[".repeat(1_000_000),
        format!("x{}", " + 1".repeat(500_000)),
        "exists ".repeat(500_000),
    ] {
        assert_eq!(
            parse_error(&text, &limits),
            ExprErrorKind::TooDeep { max: Limits::DEPTH_CEILING },
        );
    }
}

#[test]
fn list_length_is_bounded() {
    let limits = Limits { max_list_len: 10, ..Limits::default() };
    let list = |n: usize| format!("x in [{}]", vec!["1"; n].join(", "));
    assert!(parse(&list(10), &limits).is_ok());
    assert_eq!(parse_error(&list(11), &limits), ExprErrorKind::ListTooLong { max: 10 });
    let e = parse(&list(11), &limits).unwrap_err();
    assert_eq!(e.span.column(), "x in [".len() + 10 * 3 + 1);
}

#[test]
fn huge_in_lists_bind_and_evaluate_without_blowing_up() {
    let max = Limits::default().max_list_len;
    let values: Vec<TemplateValue> =
        (0..max).map(|i| TemplateValue::String(format!("v{i}"))).collect();
    let mut params = HashMap::from([("names".to_owned(), TemplateValue::Array(values.clone()))]);
    let plan = compile("name in {names}", &params, &schema(), &Limits::default()).expect("valid");
    let (columns, n) = columns();
    assert_eq!(plan.evaluate(&columns, n).expect("evaluates").count(), 0);
    let mut too_many = values;
    too_many.push(TemplateValue::String("a".to_owned()));
    params.insert("names".to_owned(), TemplateValue::Array(too_many));
    let e = compile("name in {names}", &params, &schema(), &Limits::default()).unwrap_err();
    assert_eq!(*e.kind, ExprErrorKind::ListTooLong { max });
    assert_eq!(e.span.column(), 9);
}

#[test]
fn json_path_depth_is_bounded() {
    let limits = Limits::default();
    let path = |n: usize| format!("meta{} == 1", "[\"k\"]".repeat(n));
    assert!(parse(&path(32), &limits).is_ok());
    assert_eq!(parse_error(&path(33), &limits), ExprErrorKind::PathTooDeep { max: 32 });
}

#[test]
fn string_length_is_bounded() {
    let limits = Limits { max_string_len: 8, ..Limits::default() };
    assert!(parse("name == \"12345678\"", &limits).is_ok());
    assert_eq!(
        parse_error("name == \"123456789\"", &limits),
        ExprErrorKind::StringTooLong { max: 8 }
    );
    let params = HashMap::from([("s".to_owned(), TemplateValue::String("123456789".to_owned()))]);
    let e = compile("name == {s}", &params, &schema(), &limits).unwrap_err();
    assert_eq!(*e.kind, ExprErrorKind::StringTooLong { max: 8 });
}

#[test]
fn template_parameter_count_is_bounded() {
    let limits = Limits { max_template_params: 2, ..Limits::default() };
    assert!(parse("{a} == {b} or {a} == {b}", &limits).is_ok());
    assert_eq!(
        parse_error("{a} == {b} or {c} == 1", &limits),
        ExprErrorKind::TooManyTemplates { max: 2 }
    );
    let params: HashMap<String, TemplateValue> =
        (0..3).map(|i| (format!("p{i}"), TemplateValue::Int64(i))).collect();
    let e = parse("age == 1", &limits).expect("parses").bind(&params).unwrap_err();
    assert_eq!(*e.kind, ExprErrorKind::TooManyTemplates { max: 2 });
}

#[test]
fn deeply_nested_template_values_are_bounded() {
    let mut value = TemplateValue::Int64(1);
    for _ in 0..100_000 {
        value = TemplateValue::Array(vec![value]);
    }
    let params = HashMap::from([("v".to_owned(), value)]);
    let e = compile("meta in {v}", &params, &schema(), &Limits::default()).unwrap_err();
    assert_eq!(*e.kind, ExprErrorKind::TooDeep { max: 64 });
    // Dropping a deep TemplateValue is the caller's business; this one is dropped iteratively
    // to keep the test itself within the stack.
    let mut value = params.into_values().next();
    while let Some(TemplateValue::Array(mut items)) = value {
        value = items.pop();
    }
}

#[test]
fn division_and_modulo_by_a_zero_constant_are_check_errors() {
    assert_eq!(check_error("age / 0 > 1"), ExprErrorKind::DivisionByZero { op: "/" });
    assert_eq!(check_error("age % 0 == 1"), ExprErrorKind::DivisionByZero { op: "%" });
    assert_eq!(check_error("d / 0.0 > 1"), ExprErrorKind::DivisionByZero { op: "/" });
    assert_eq!(check_error("age > 1 / 0"), ExprErrorKind::DivisionByZero { op: "/" });
    assert_eq!(check_error("age > 5 % (3 - 3)"), ExprErrorKind::DivisionByZero { op: "%" });
}

#[test]
fn division_and_modulo_by_a_zero_row_are_eval_errors() {
    // Row 0 has age 0; row 4 is null (skipped, not an error).
    assert!(matches!(eval("10 / age > 1"), Err(EvalError::DivisionByZero { op: "/", .. })));
    assert!(matches!(eval("10 % age == 1"), Err(EvalError::DivisionByZero { op: "%", .. })));
    assert!(matches!(eval("1.5 / d > 1"), Err(EvalError::DivisionByZero { op: "/", .. })));
    let e = eval("id > 0 and 10 / age > 1").unwrap_err();
    assert_eq!(e.to_string(), "`/` by zero at column 12");
    // Guards do not help: every row is computed, so the outcome does not depend on order.
    assert!(eval("age != 0 and 10 / age > 1").is_err());
}

#[test]
fn integer_overflow_is_an_error_never_a_wrapped_value() {
    assert_eq!(
        check_error("age > 9223372036854775807 + 1"),
        ExprErrorKind::IntegerOverflow { op: "+" }
    );
    assert_eq!(
        check_error("age > 4611686018427387904 * 2"),
        ExprErrorKind::IntegerOverflow { op: "*" }
    );
    assert_eq!(check_error("age > 2 ** 63"), ExprErrorKind::IntegerOverflow { op: "**" });
    assert_eq!(check_error("age > 9223372036854775808"), ExprErrorKind::IntegerLiteralOverflow);
    assert_eq!(
        check_error("age > -(-9223372036854775808)"),
        ExprErrorKind::IntegerOverflow { op: "-" }
    );
    assert_eq!(check_error("age > 1e309"), ExprErrorKind::FloatOutOfRange);
    assert_eq!(eval("age > -9223372036854775808"), Ok(vec![0, 1, 2]));
    assert_eq!(eval("age > 2 ** 62"), Ok(vec![2]));
    // Row 2 holds i64::MAX and row 3 i64::MIN.
    assert!(matches!(eval("age + 1 > 0"), Err(EvalError::IntegerOverflow { op: "+", .. })));
    assert!(matches!(eval("age * 2 > 0"), Err(EvalError::IntegerOverflow { op: "*", .. })));
    assert!(matches!(eval("age - 1 > 0"), Err(EvalError::IntegerOverflow { op: "-", .. })));
    assert!(matches!(eval("-age > 0"), Err(EvalError::IntegerOverflow { op: "-", .. })));
    assert!(matches!(eval("age / -1 > 0"), Err(EvalError::IntegerOverflow { op: "/", .. })));
    assert_eq!(eval("age % -1 == 0"), Ok(vec![0, 1, 2, 3]));
    assert!(matches!(eval("d * 1e300 > 0"), Err(EvalError::FloatOverflow { op: "*", .. })));
}

#[test]
fn negating_i64_min_from_a_template_overflows() {
    let params = HashMap::from([("x".to_owned(), TemplateValue::Int64(i64::MIN))]);
    let e = compile("age > -{x}", &params, &schema(), &Limits::default()).unwrap_err();
    assert_eq!(*e.kind, ExprErrorKind::IntegerLiteralOverflow);
    let ok = compile("age > {x}", &params, &schema(), &Limits::default());
    assert!(ok.is_ok());
}

#[test]
fn wrong_columns_are_refused_not_panicked_on() {
    let plan = compile("age > 1", &HashMap::new(), &schema(), &Limits::default()).expect("valid");
    let (mut columns, n) = columns();
    assert_eq!(
        plan.evaluate(&columns[..2], n),
        Err(EvalError::ColumnCount { expected: 6, got: 2 })
    );
    assert!(matches!(plan.evaluate(&columns, n + 1), Err(EvalError::ColumnLength { .. })));
    columns[1] = Column::new(ColumnData::Int32(vec![0; n]));
    assert!(matches!(plan.evaluate(&columns, n), Err(EvalError::ColumnType { .. })));
}

#[test]
fn plans_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<quiver_expr::Plan>();
    assert_send_sync::<quiver_expr::Expr>();
    assert_send_sync::<quiver_expr::Bitmap>();
}

#[test]
fn contains_on_large_lists_hashes_and_agrees_with_pairwise_comparison() {
    // Row 0: 600 numbers (every third one written as a float), a string, a list, an object
    // and a null. Row 1: a short array, compared pairwise.
    let mut elements: Vec<serde_json::Value> = (0..600)
        .map(|i| if i % 3 == 0 { serde_json::json!(i as f64) } else { serde_json::json!(i) })
        .collect();
    elements.extend([
        serde_json::json!("x"),
        serde_json::json!([1, 2]),
        serde_json::json!({"o": 1}),
        serde_json::Value::Null,
    ]);
    let big = serde_json::json!({ "a": elements }).to_string();
    let small = serde_json::json!({ "a": [1, "x", [1, 2]] }).to_string();
    let (mut columns, _) = columns();
    columns.iter_mut().for_each(|c| c.validity = None);
    let n = 2;
    for column in &mut columns {
        column.data = match &column.data {
            ColumnData::Json(_) => ColumnData::Json(vec![big.clone(), small.clone()]),
            ColumnData::FloatVector { dim, .. } => {
                ColumnData::FloatVector { dim: *dim, data: vec![0.0; n] }
            }
            ColumnData::Int64(_) => ColumnData::Int64(vec![1, 2]),
            ColumnData::Double(_) => ColumnData::Double(vec![0.0, 0.0]),
            ColumnData::VarChar(_) => ColumnData::VarChar(vec!["a".into(), "b".into()]),
            other => other.clone(),
        };
    }
    let ints =
        |range: std::ops::Range<i64>| range.map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let floats = |range: std::ops::Range<i64>| {
        range.map(|i| format!("{i}.0")).collect::<Vec<_>>().join(", ")
    };
    let cases = [
        (format!("json_contains_any(meta[\"a\"], [{}, 599])", ints(1000..1300)), vec![0]),
        (format!("json_contains_any(meta[\"a\"], [{}])", ints(1000..1300)), vec![]),
        (
            format!("json_contains_all(meta[\"a\"], [{}, {}])", floats(0..300), ints(300..600)),
            vec![0],
        ),
        (format!("json_contains_all(meta[\"a\"], [{}, \"y\"])", ints(0..300)), vec![]),
        (format!("json_contains_any(meta[\"a\"], [[1.0, 2.0], {}])", ints(1000..1300)), vec![0, 1]),
        (format!("json_contains_all(meta[\"a\"], [\"x\", [1, 2], {}])", ints(0..300)), vec![0]),
        (format!("json_contains_any(meta[\"a\"], [\"x\", {}])", ints(1000..1300)), vec![0, 1]),
    ];
    for (text, expect) in cases {
        let plan = compile(&text, &HashMap::new(), &schema(), &Limits::default()).expect("valid");
        let got: Vec<usize> = plan.evaluate(&columns, n).expect("evaluates").iter().collect();
        assert_eq!(got, expect, "{}", &text[..60]);
    }
}
