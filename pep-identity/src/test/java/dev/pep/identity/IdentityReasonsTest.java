package dev.pep.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Subject;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IdentityReasonsTest {

    @Test
    void of_everyCode_hasLowerSnakeCaseAndMessage() {
        assertThat(IdentityReasons.codes()).hasSizeGreaterThan(25);
        for (String code : IdentityReasons.codes()) {
            assertThat(code).matches("[a-z][a-z0-9_]*");
            assertThat(IdentityReasons.of(code).message()).isNotBlank();
        }
        assertThatThrownBy(() -> IdentityReasons.of("rule_allowed"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void claimMapping_nestedRolesFixedOrganisationAndExtras() {
        ClaimMapping mapping = new ClaimMapping("org", Optional.of("partner-b"), "groups",
                "realm_access.roles", "email", Set.of("clearance", "missing", "nested"));
        Map<String, Object> claims = Map.of("sub", "bob", "org", "spoofed",
                "groups", "single-group", "realm_access", Map.of("roles", List.of("r1", 7, "r2")),
                "clearance", "secret", "nested", Map.of("a", 1));

        Subject subject = mapping.toSubject(claims, "iss", AuthenticationMethod.BEARER,
                Instant.EPOCH);

        assertThat(subject.organisation()).isEqualTo("partner-b");
        assertThat(subject.groups()).containsExactly("single-group");
        assertThat(subject.roles()).containsExactlyInAnyOrder("r1", "r2");
        assertThat(subject.email()).isEmpty();
        assertThat(subject.claims()).containsExactly(Map.entry("clearance", "secret"));
    }
}
