package dev.pep.proxy.config;

import java.util.List;

/**
 * A configuration file that cannot be used. Its message lists every problem found, each with
 * file, line, column, the key and what was expected.
 */
public final class ConfigException extends Exception {

    private final List<ConfigProblem> problems;

    ConfigException(List<ConfigProblem> problems) {
        super(render(problems));
        this.problems = List.copyOf(problems);
    }

    /** The problems, in file order. */
    public List<ConfigProblem> problems() {
        return problems;
    }

    private static String render(List<ConfigProblem> problems) {
        StringBuilder sb = new StringBuilder();
        for (ConfigProblem p : problems) {
            if (sb.length() > 0) {
                sb.append('\n');
            }
            sb.append(p);
        }
        return sb.toString();
    }
}
