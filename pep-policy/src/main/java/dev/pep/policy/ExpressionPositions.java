package dev.pep.policy;

import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.DumperOptions.ScalarStyle;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Translates a position inside a condition's text into a line and column of the policy file.
 *
 * <p>The scalar's source lines are matched back into its value, one anchor per source line.
 * Exact for plain and quoted scalars on one line and for literal ({@code |}) and folded
 * ({@code >}) block scalars; within a line that holds escape sequences of a quoted scalar, the
 * column may be off by the escapes before it (the line stays right).
 */
final class ExpressionPositions {

    private final List<Anchor> anchors;
    private final int[] lineStarts;
    private final int fallbackLine;
    private final int fallbackColumn;

    private ExpressionPositions(List<Anchor> anchors, String value, int line, int column) {
        this.anchors = anchors;
        String[] lines = value.split("\n", -1);
        this.lineStarts = new int[lines.length];
        int offset = 0;
        for (int i = 0; i < lines.length; i++) {
            lineStarts[i] = offset;
            offset += lines[i].length() + 1;
        }
        this.fallbackLine = line;
        this.fallbackColumn = column;
    }

    /** Positions for a scalar of a file whose lines are given. */
    static ExpressionPositions of(ScalarNode node, List<String> fileLines) {
        String value = node.getValue();
        int startLine = node.getStartMark().getLine();
        int endLine = Math.min(node.getEndMark().getLine(), fileLines.size() - 1);
        boolean block = node.getScalarStyle() == ScalarStyle.LITERAL
                || node.getScalarStyle() == ScalarStyle.FOLDED;
        boolean quoted = node.getScalarStyle() == ScalarStyle.SINGLE_QUOTED
                || node.getScalarStyle() == ScalarStyle.DOUBLE_QUOTED;
        List<Anchor> anchors = new ArrayList<>();
        int cursor = 0;
        for (int line = block ? startLine + 1 : startLine; line <= endLine; line++) {
            String source = fileLines.get(line);
            int from = line == startLine ? node.getStartMark().getColumn() + (quoted ? 1 : 0) : 0;
            while (from < source.length() && Character.isWhitespace(source.charAt(from))) {
                from++;
            }
            int to = !block && line == node.getEndMark().getLine()
                    ? Math.min(node.getEndMark().getColumn(), source.length()) : source.length();
            String text = source.substring(Math.min(from, to), to).stripTrailing();
            if (quoted && line == endLine && !text.isEmpty()) {
                text = text.substring(0, text.length() - 1);
            }
            // LIMITATION(L-103): a line with escapes does not match its value; no anchor there.
            int at = text.isEmpty() ? -1 : value.indexOf(text, cursor);
            if (at >= 0) {
                anchors.add(new Anchor(at, text.length(), line + 1, from + 1));
                cursor = at + text.length();
            }
        }
        int column = node.getStartMark().getColumn() + 1;
        return new ExpressionPositions(anchors, value, startLine + 1, column);
    }

    /**
     * The file position of an expression position.
     *
     * @param line the expression's line, from 1
     * @param column the expression's column, from 0
     * @return the file's line and column, from 1
     */
    int[] locate(int line, int column) {
        int index = Math.min(Math.max(line, 1), lineStarts.length) - 1;
        int offset = (index >= 0 ? lineStarts[index] : 0) + column;
        Anchor best = null;
        for (Anchor anchor : anchors) {
            if (anchor.offset <= offset) {
                best = anchor;
            }
        }
        if (best == null) {
            return new int[] {fallbackLine, fallbackColumn};
        }
        int within = Math.min(offset - best.offset, best.length);
        return new int[] {best.line, best.column + within};
    }

    private record Anchor(int offset, int length, int line, int column) {
    }
}
