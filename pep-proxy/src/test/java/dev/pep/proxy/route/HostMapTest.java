package dev.pep.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HostMapTest {

    @Test
    void get_exactWinsOverWildcard_andAWildcardMatchesOneLabelOnly() {
        HostMap.Builder<String> b = HostMap.builder();
        assertThat(b.put("*.partners.example", "wild")).isTrue();
        assertThat(b.put("db.partners.example", "exact")).isTrue();
        HostMap<String> map = b.build();

        assertThat(map.get("db.partners.example")).contains("exact");
        assertThat(map.get("other.partners.example")).contains("wild");
        assertThat(map.get("a.b.partners.example")).isEmpty();
        assertThat(map.get("partners.example")).isEmpty();
        assertThat(map.get("unknown.example")).isEmpty();
    }

    @Test
    void put_sameNameTwice_refusedAndTheFirstKept() {
        HostMap.Builder<String> b = HostMap.builder();
        b.put("*.partners.example", "first");

        assertThat(b.put("*.partners.example", "second")).isFalse();
        assertThat(b.build().get("x.partners.example")).contains("first");
    }
}
