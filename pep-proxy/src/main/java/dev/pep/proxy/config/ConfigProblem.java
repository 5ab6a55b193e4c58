package dev.pep.proxy.config;

import java.util.Objects;

/**
 * One problem in a configuration file.
 *
 * @param file the file as the operator named it
 * @param line 1-based line, 0 when unknown
 * @param column 1-based column, 0 when unknown
 * @param key the dotted key, for example {@code apps.demo.upstream}; empty for the whole file
 * @param message what is wrong and what was expected; secrets already masked
 */
public record ConfigProblem(String file, int line, int column, String key, String message) {

    /** Validates. */
    public ConfigProblem {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        String where = line > 0 ? file + ":" + line + ":" + column : file;
        return key.isEmpty() ? where + ": " + message : where + ": " + key + ": " + message;
    }
}
