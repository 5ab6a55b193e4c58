package dev.pep.proxy.server;

/** Fired down every partner connection when the gateway starts draining. */
final class DrainEvent {

    static final DrainEvent INSTANCE = new DrainEvent();

    private DrainEvent() {
    }
}
