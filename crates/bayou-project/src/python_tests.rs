//! Tests of the static reading of Python models.

use super::*;

fn codes(src: &str) -> Vec<String> {
    let (nodes, problems) = read_all(src);
    assert!(problems.is_empty(), "{problems:?}");
    nodes.into_iter().map(|n| n.code).collect()
}

#[test]
fn the_code_fingerprint_ignores_comments_spacing_and_the_other_models() {
    let base = "import bayou\n\ndef helper(x):\n    return x\n\n@bayou.model()\ndef a(d=bayou.Model('t')):\n    return helper(d)\n\n@bayou.model()\ndef b(d=bayou.Model('t')):\n    return d\n";
    let [a, b] = <[String; 2]>::try_from(codes(base)).unwrap();
    // Comments, blank lines and spacing do not count.
    let cosmetic = "import bayou\n# helpers\n\n\ndef helper(x):\n    return x  # same\n\n@bayou.model()\ndef a(d = bayou.Model('t')):\n\n    return helper(d)\n\n@bayou.model()\ndef b(d=bayou.Model('t')):\n    return d\n";
    assert_eq!(codes(cosmetic), vec![a.clone(), b.clone()]);
    // Editing `b` changes only `b`.
    let edited_b = base.replace("    return d\n", "    return d.slice(1)\n");
    let after = codes(&edited_b);
    assert_eq!(after[0], a);
    assert_ne!(after[1], b);
    // Editing a helper changes every node of the file; so does a string.
    let edited_helper = base.replace("return x\n", "return x.slice(0)\n");
    let after = codes(&edited_helper);
    assert!(after[0] != a && after[1] != b);
    assert_ne!(codes(&base.replace("'t'", "'u'"))[0], a);
}

fn read_all(src: &str) -> (Vec<Node>, Vec<Diagnostic>) {
    let mut out = vec![];
    let nodes = read(Path::new("models.py"), src, &mut out);
    (nodes, out)
}

#[test]
fn decorators_in_any_order_under_either_sdk_name() {
    let src = r#"
import bauplan
from bayou import model as m, Model

@bauplan.python("3.11", pip={"pandas": "2.2.3"})
@bauplan.model(materialization_strategy="REPLACE", columns=["a"])
def first(trips=bauplan.Model("trips", columns=["a", "b"], filter="a > $min_a", ref="v1"), n=bauplan.Parameter("n")):
    return trips

@m(name="renamed")
@bauplan.resources(memory="512MB", cpus=1, timeout=60)
def second(data=Model("first")):
    return data

@bauplan.expectation()
@bauplan.python("3.11")
def check(data=bauplan.Model("renamed", columns=["*"])):
    return True

def helper():
    pass
"#;
    let (nodes, out) = read_all(src);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(nodes.len(), 3);
    let first = &nodes[0];
    assert_eq!(first.materialization, Materialization::Replace);
    assert_eq!(first.python.as_ref().unwrap().packages["pandas"], "2.2.3");
    assert_eq!(first.inputs[0].columns, Some(vec!["a".into(), "b".into()]));
    assert_eq!(first.inputs[0].filter.as_deref(), Some("a > $min_a"));
    assert_eq!(first.inputs[0].reference.as_deref(), Some("v1"));
    assert_eq!(first.parameters[0].name, "n");
    assert_eq!(nodes[1].name, "renamed");
    assert_eq!(nodes[1].resources.memory_bytes, Some(512_000_000));
    assert!(nodes[2].is_expectation());
    assert_eq!(nodes[2].inputs[0].columns, None, "['*'] means all columns");
}

#[test]
fn non_literal_decorator_arguments_are_errors_with_lines() {
    let src = "import bayou\nCOLS = ['a']\n\n@bayou.model(columns=COLS)\ndef f(x=bayou.Model('t')):\n    return x\n";
    let (_, out) = read_all(src);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].line, 4);
    assert!(
        out[0].message.contains("must be a literal, not `COLS`"),
        "{}",
        out[0]
    );
}

#[test]
fn inputs_without_defaults_and_unknown_arguments_are_reported() {
    let src = "import bayou\n@bayou.model(colour='red')\ndef f(x):\n    return x\n";
    let (_, out) = read_all(src);
    let msgs: Vec<&str> = out.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("no argument 'colour'")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("'x' of 'f' has no default")),
        "{msgs:?}"
    );
}

#[test]
fn a_misspelt_model_argument_is_reported_and_others_are_left_to_the_sdk() {
    let src = "import bayou\n@bayou.model()\ndef f(x=bayou.Model('t', fliter='a > 1', connector='s3')):\n    return x\n";
    let (_, out) = read_all(src);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].message.contains("has no argument 'fliter'"),
        "{}",
        out[0]
    );
    assert_eq!(out[0].hint.as_deref(), Some("did you mean filter=?"));
}

#[test]
fn a_python_version_written_as_a_number_must_not_have_lost_a_zero() {
    let src = |v: &str| {
        format!(
            "import bayou\n@bayou.model()\n@bayou.python({v})\ndef f(x=bayou.Model('t')):\n    return x\n"
        )
    };
    let (nodes, out) = read_all(&src("3.11"));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        nodes[0].python.as_ref().unwrap().version.as_deref(),
        Some("3.11")
    );
    let (_, out) = read_all(&src("3.10"));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        out[0].hint.as_deref(),
        Some("quote it: @bayou.python(\"3.10\")")
    );
}

#[test]
fn a_misspelt_decorator_is_reported_rather_than_dropping_the_model() {
    let src = "import bayou\n@bayou.modle()\ndef f(x=bayou.Model('t')):\n    return x\n";
    let (nodes, out) = read_all(src);
    assert!(nodes.is_empty());
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].line, 2);
    assert_eq!(out[0].hint.as_deref(), Some("did you mean @model?"));
}

#[test]
fn python_none_as_a_strategy_means_none() {
    let src = "import bauplan\n@bauplan.model(materialization_strategy=None)\ndef f(x=bauplan.Model('t')):\n    return x\n";
    let (nodes, out) = read_all(src);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(nodes[0].materialization, Materialization::None);
    let (_, out) = read_all(&src.replace("None", "3"));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].message.contains("must be a string"), "{}", out[0]);
}

#[test]
fn syntax_errors_name_the_line() {
    let (_, out) = read_all("import bayou\n\ndef f(:\n  pass\n");
    assert_eq!(out[0].line, 3, "{}", out[0]);
    assert!(out[0].message.starts_with("Python syntax error"));
}
