package dev.pep.policy;

import java.util.Objects;

/**
 * One problem found while loading policy files, with where it is.
 *
 * @param file the file, as the loader named it (the directory joined with the file name)
 * @param line the line, counted from 1; 0 when the problem concerns the whole file
 * @param column the column, counted from 1; 0 when unknown
 * @param message what is wrong and what was expected
 */
public record PolicyError(String file, int line, int column, String message) {

    /** Validates. */
    public PolicyError {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(message, "message");
        if (line < 0 || column < 0) {
            throw new IllegalArgumentException("negative position " + line + ":" + column);
        }
    }

    /** The compiler-style form {@code file:line:column: message}. */
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": " + message;
    }
}
