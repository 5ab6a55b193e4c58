package dev.pep.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What an admin endpoint answers: a status and a JSON body.
 *
 * @param status the HTTP status
 * @param json the body, a JSON document
 */
public record AdminResponse(int status, String json) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** An error with a reason code and a message, the shape of every admin API error. */
    public static AdminResponse error(int status, String reason, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", reason);
        body.put("message", message);
        return of(status, body);
    }

    /** A 200 with that value written as JSON (records, maps, lists, strings, numbers; times as
     * ISO-8601 strings). */
    public static AdminResponse ok(Object value) {
        return of(200, value);
    }

    /** That status with that value written as JSON. */
    public static AdminResponse of(int status, Object value) {
        try {
            return new AdminResponse(status, MAPPER.writeValueAsString(value) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not writable as JSON: " + value.getClass().getName(), e);
        }
    }
}
