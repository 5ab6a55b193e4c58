package dev.pep.proxy.upstream;

/** What an upstream connection tells the exchange that is using it. Called on its event loop. */
public interface UpstreamListener {

    /**
     * A response head, a piece of its body, or after a protocol switch (101) raw bytes; the
     * listener owns (and releases) it.
     */
    void onResponse(Object msg);

    /** The upstream connection finished a read; a good moment to flush what was relayed. */
    void onUpstreamReadComplete();

    /** The upstream connection ended; {@code cause} is null for an orderly close. */
    void onUpstreamClosed(Throwable cause);

    /** The upstream connection can (or cannot) take more writes. */
    void onUpstreamWritability(boolean writable);
}
