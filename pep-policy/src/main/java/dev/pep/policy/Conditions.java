package dev.pep.policy;

import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.parser.CelUnparser;
import dev.cel.parser.CelUnparserFactory;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.Program;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compiles conditions: CEL over the {@link Vocabulary} and the {@link Helpers}, result bool.
 *
 * <p>Thread-safe; one shared environment serves every load.
 */
final class Conditions {

    private static final Pattern UNDECLARED =
            Pattern.compile("undeclared reference to '([A-Za-z_][A-Za-z0-9_]*)'.*");
    /** The most iterations of one comprehension (exists, all, map, filter); more is an error. */
    static final int MAX_ITERATIONS = 10_000;
    private static final Cel CEL = environment();
    private static final CelUnparser UNPARSER = CelUnparserFactory.newUnparser();

    private Conditions() {
    }

    /** A compiled condition, or the issues with positions inside the expression text. */
    record Result(Condition condition, List<Issue> issues) {
    }

    /**
     * One compile problem.
     *
     * @param line the expression's line, from 1
     * @param column the expression's column, from 0
     * @param message what is wrong
     */
    record Issue(int line, int column, String message) {
    }

    /** A type-checked condition and its top-level terms, for explanations. */
    record Condition(String text, Program program, String operator, List<String> terms,
            Guard guard) {

        /** Evaluates the condition; a non-bool result is an error. */
        boolean evaluate(Map<String, Object> activation) throws CelEvaluationException {
            return evaluate(program, activation);
        }

        static boolean evaluate(Program program, Map<String, Object> activation)
                throws CelEvaluationException {
            Object result = program.eval(activation);
            if (result instanceof Boolean b) {
                return b;
            }
            throw dev.cel.runtime.CelEvaluationExceptionBuilder
                    .newBuilder("condition is not a bool: %s", String.valueOf(result)).build();
        }
    }

    /** Compiles and type-checks one condition. */
    static Result compile(String text) {
        CelValidationResult parsing = CEL.parse(text);
        if (parsing.hasError()) {
            return new Result(null, issues(parsing.getErrors()));
        }
        try {
            CelAbstractSyntaxTree parsed = parsing.getAst();
            CelValidationResult checked = CEL.check(parsed);
            if (checked.hasError()) {
                return new Result(null, issues(checked.getErrors()));
            }
            Program program = CEL.createProgram(checked.getAst());
            String operator = operatorOf(parsed.getExpr());
            List<String> terms = new ArrayList<>();
            if (operator.isEmpty()) {
                terms.add(text.strip());
            } else {
                flatten(parsed, parsed.getExpr(), operator, terms);
            }
            return new Result(new Condition(text, program, operator, terms,
                    Guard.of(operator, terms)), List.of());
        } catch (CelValidationException | CelEvaluationException e) {
            return new Result(null, List.of(new Issue(1, 0, e.getMessage())));
        }
    }

    /** Compiles one term of a condition that already compiled, for an explanation. */
    static Program compileTerm(String term) throws CelValidationException, CelEvaluationException {
        return CEL.createProgram(CEL.compile(term).getAst());
    }

    private static List<Issue> issues(List<CelIssue> celIssues) {
        List<Issue> issues = new ArrayList<>();
        for (CelIssue issue : celIssues) {
            issues.add(new Issue(Math.max(1, issue.getSourceLocation().getLine()),
                    Math.max(0, issue.getSourceLocation().getColumn()), explain(issue)));
        }
        return issues;
    }

    private static String explain(CelIssue issue) {
        Matcher m = UNDECLARED.matcher(issue.getMessage());
        if (m.matches() && Vocabulary.ROOTS.contains(m.group(1))) {
            return "unknown attribute of '" + m.group(1) + "'; expected one of "
                    + Vocabulary.attributesOf(m.group(1));
        }
        if (m.matches()) {
            return "unknown name '" + m.group(1) + "'; expected an attribute of "
                    + String.join(", ", Vocabulary.ROOTS) + " or a CEL function";
        }
        return issue.getMessage();
    }

    private static String operatorOf(CelExpr expr) {
        if (expr.getKind() == CelExpr.ExprKind.Kind.CALL) {
            String function = expr.call().function();
            if (function.equals("_&&_")) {
                return "&&";
            }
            if (function.equals("_||_")) {
                return "||";
            }
        }
        return "";
    }

    private static void flatten(CelAbstractSyntaxTree ast, CelExpr expr, String operator,
            List<String> terms) {
        if (operatorOf(expr).equals(operator)) {
            for (CelExpr arg : expr.call().args()) {
                flatten(ast, arg, operator, terms);
            }
            return;
        }
        terms.add(UNPARSER.unparse(CelAbstractSyntaxTree.newParsedAst(expr, ast.getSource())));
    }

    private static Cel environment() {
        // LIMITATION(L-106): only comprehensions are bounded; regexes and string work are not.
        var builder = CelFactory.standardCelBuilder()
                .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
                .setOptions(CelOptions.current()
                        .evaluateCanonicalTypesToNativeValues(true)
                        .populateMacroCalls(true)
                        .comprehensionMaxIterations(MAX_ITERATIONS)
                        .build())
                .addFunctionDeclarations(Helpers.declarations())
                .addFunctionBindings(Helpers.bindings())
                .setResultType(SimpleType.BOOL);
        Vocabulary.ATTRIBUTES.forEach(builder::addVar);
        return builder.build();
    }
}
