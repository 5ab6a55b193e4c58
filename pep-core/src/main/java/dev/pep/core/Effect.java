package dev.pep.core;

/** The outcome of a decision. There is no third value: anything undecided is a deny. */
public enum Effect {
    ALLOW,
    DENY
}
