package dev.pep.policy;

import org.yaml.snakeyaml.nodes.Node;

/** A place in a policy file: file name, line and column from 1. */
record Where(String file, int line, int column) {

    static Where of(String file, Node node) {
        return new Where(file, node.getStartMark().getLine() + 1,
                node.getStartMark().getColumn() + 1);
    }

    PolicyError error(String message) {
        return new PolicyError(file, line, column, message);
    }

    @Override
    public String toString() {
        return file + ":" + line + ":" + column;
    }
}
