package odatatest

import (
	"strings"
	"testing"
)

const doc = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="entity"><Key><PropertyRef Name="id"/></Key><Property Name="id" Type="Edm.String"/></EntityType>
      <EntityType Name="user" BaseType="graph.entity">
        <Property Name="displayName" Type="Edm.String"/>
        <NavigationProperty Name="manager" Type="microsoft.graph.user"/>
        <NavigationProperty Name="memberOf" Type="Collection(graph.group)"/>
      </EntityType>
      <EntityType Name="group" BaseType="graph.entity"/>
      <ComplexType Name="pair"><Property Name="key" Type="Edm.String"/></ComplexType>
      <EntityContainer Name="c">
        <EntitySet Name="users" EntityType="graph.user"/>
        <Singleton Name="me" Type="graph.user"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>`

func TestResolve(t *testing.T) {
	md, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"users", "users/$entity", "users(id,displayName)", "users('a')/manager/memberOf", "me/memberOf",
		"microsoft.graph.pair", "Collection(microsoft.graph.user)"} {
		if err := md.Resolve(ok); err != nil {
			t.Errorf("Resolve(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"functions", "groups", "users('a')/owners", "microsoft.graph.nope", "Collection(pair)", ""} {
		if err := md.Resolve(bad); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}
	if got := strings.Join(md.Properties("microsoft.graph.user"), ","); !strings.Contains(got, "id") || !strings.Contains(got, "displayName") {
		t.Errorf("Properties(user) = %s, want its own and entity's", got)
	}
}

func TestParseRefusesUndeclaredTypes(t *testing.T) {
	for _, bad := range []string{
		strings.Replace(doc, `Type="Edm.String"/></ComplexType>`, `Type="graph.missing"/></ComplexType>`, 1),
		strings.Replace(doc, `EntityType="graph.user"`, `EntityType="graph.nobody"`, 1),
		strings.Replace(doc, `Version="4.0"`, `Version="1.0"`, 1),
		"<html></html>",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse accepted %.80q", bad)
		}
	}
}
