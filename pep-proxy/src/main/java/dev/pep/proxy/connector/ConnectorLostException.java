package dev.pep.proxy.connector;

import java.io.IOException;

/** The tunnel that carried a session's stream went away (connector stopped, killed, revoked). */
public final class ConnectorLostException extends IOException {

    /** For the connector of that name. */
    public ConnectorLostException(String connector) {
        super("the tunnel to connector " + connector + " closed");
    }
}
