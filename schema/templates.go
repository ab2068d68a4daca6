package schema

import "strings"

// Directory names used by the built-in templates.
const (
	DirectoryEntra = "Azure Active Directory"
	DirectorySCIM  = "customappsso"
	// DirectoryAD is Active Directory as cloud sync's source
	// (AD2AADProvisioning); DirectoryLDAP is an OpenLDAP-style directory
	// (LDAP2AADProvisioning, provisiond's own). Their object types are
	// "user" and "group", as cloud sync's are.
	DirectoryAD   = "Active Directory"
	DirectoryLDAP = "LDAP"
)

// SCIMUserRuleID is the id of the built-in scim template's only rule; it is
// the ruleId clients pass to provisionOnDemand for users and groups.
const SCIMUserRuleID = "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8"

// enterprise is the SCIM enterprise user extension's schema URN.
const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// Templates returns the built-in synchronization templates for an
// application, freshly built so callers may modify them.
func Templates(applicationID string) []Template {
	return append([]Template{{
		ID:            "scim",
		ApplicationID: applicationID,
		Default:       true,
		Description:   "Provision users and groups from the directory to any SCIM 2.0 application.",
		Discoverable:  true,
		FactoryTag:    "scim",
		Metadata: []StringKV{
			{Key: "GalleryApplicationKey", Value: "scim"},
			{Key: "IsOAuthEnabled", Value: "false"},
			{Key: "IsSynchronizationAgentRequired", Value: "false"},
			{Key: "ConfigurationFields", Value: `["BaseAddress","SecretToken"]`},
		},
		Schema: SCIMSchema(),
	}}, cloudSyncTemplates(applicationID)...)
}

// Template returns the built-in template with the given id.
func TemplateByID(applicationID, id string) (Template, bool) {
	for _, t := range Templates(applicationID) {
		if strings.EqualFold(t.ID, id) {
			return t, true
		}
	}
	return Template{}, false
}

// SCIMSchema is the default schema of the scim template: directory users
// and groups to a SCIM 2.0 application, with Entra's default mappings for a
// non-gallery SCIM app.
func SCIMSchema() *Schema {
	users := []AttributeMapping{
		matching(1, "userName", attr("userPrincipalName")),
		mapping("active", fn(`Switch([IsSoftDeleted], , "False", "True", "True", "False")`)),
		mapping("displayName", attr("displayName")),
		mapping("title", attr("jobTitle")),
		mapping(`emails[type eq "work"].value`, attr("mail")),
		mapping("preferredLanguage", attr("preferredLanguage")),
		mapping("name.givenName", attr("givenName")),
		mapping("name.familyName", attr("surname")),
		mapping("name.formatted", fn(`Join(" ", [givenName], [surname])`)),
		mapping(`addresses[type eq "work"].formatted`, attr("physicalDeliveryOfficeName")),
		mapping(`addresses[type eq "work"].streetAddress`, attr("streetAddress")),
		mapping(`addresses[type eq "work"].locality`, attr("city")),
		mapping(`addresses[type eq "work"].region`, attr("state")),
		mapping(`addresses[type eq "work"].postalCode`, attr("postalCode")),
		mapping(`addresses[type eq "work"].country`, attr("country")),
		mapping(`phoneNumbers[type eq "work"].value`, attr("telephoneNumber")),
		mapping(`phoneNumbers[type eq "mobile"].value`, attr("mobile")),
		mapping(`phoneNumbers[type eq "fax"].value`, attr("facsimileTelephoneNumber")),
		mapping("externalId", attr("mailNickname")),
		mapping(enterprise+":employeeNumber", attr("employeeId")),
		mapping(enterprise+":department", attr("department")),
	}
	groups := []AttributeMapping{
		matching(1, "displayName", attr("displayName")),
		mapping("externalId", attr("objectId")),
		mapping("members", attr("members")),
	}
	return &Schema{
		Version: "v1.0",
		SynchronizationRules: []Rule{{
			ID:                  SCIMUserRuleID,
			Name:                "USER_OUTBOUND_USER",
			Editable:            true,
			Priority:            1,
			SourceDirectoryName: DirectoryEntra,
			TargetDirectoryName: DirectorySCIM,
			Metadata: []StringKV{
				{Key: "defaultSourceObjectMappings", Value: `["User","Group"]`},
				{Key: "supportsProvisionOnDemand", Value: "true"},
			},
			ObjectMappings: []ObjectMapping{
				{
					Name: "Provision Azure Active Directory Users", Enabled: true,
					FlowTypes: "Add,Update,Delete", SourceObjectName: "User", TargetObjectName: "User",
					AttributeMappings: users, Metadata: []StringKV{},
				},
				{
					Name: "Provision Azure Active Directory Groups", Enabled: true,
					FlowTypes: "Add,Update,Delete", SourceObjectName: "Group", TargetObjectName: "Group",
					AttributeMappings: groups, Metadata: []StringKV{},
				},
			},
		}},
		Directories: []DirectoryDefinition{entraDirectory(), scimDirectory()},
	}
}

func attr(name string) *MappingSource {
	e := "[" + name + "]"
	return &MappingSource{Expression: &e, Name: &name, Parameters: []SourceParam{}, Type: "Attribute"}
}

func fn(expression string) *MappingSource {
	src, err := SourceFromExpression(expression)
	if err != nil {
		panic("schema: built-in expression: " + err.Error())
	}
	return src
}

func mapping(target string, src *MappingSource) AttributeMapping {
	return AttributeMapping{Source: src, TargetAttributeName: target, FlowBehavior: "FlowWhenChanged", FlowType: "Always"}
}

func matching(priority int32, target string, src *MappingSource) AttributeMapping {
	m := mapping(target, src)
	m.MatchingPriority = priority
	return m
}

func attrDefs(typ string, names ...string) []AttributeDefinition {
	defs := make([]AttributeDefinition, len(names))
	for i, n := range names {
		defs[i] = AttributeDefinition{Name: n, Type: typ, Mutability: "ReadWrite", Metadata: []StringKV{}, APIExpressions: []StringKV{}, ReferencedObjects: []ReferencedObject{}}
	}
	return defs
}

func entraDirectory() DirectoryDefinition {
	user := attrDefs("String", "objectId", "userPrincipalName", "displayName", "givenName", "surname", "mail",
		"mailNickname", "jobTitle", "department", "employeeId", "preferredLanguage", "physicalDeliveryOfficeName",
		"streetAddress", "city", "state", "postalCode", "country", "telephoneNumber", "mobile",
		"facsimileTelephoneNumber", "companyName", "usageLocation", "userType", "employeeType")
	user = append(user, attrDefs("Boolean", "accountEnabled", "IsSoftDeleted")...)
	roles := attrDefs("String", "appRoleAssignments")
	roles[0].Multivalued = true
	user = append(user, roles...)
	user[0].Anchor = true
	group := attrDefs("String", "objectId", "displayName", "description", "mailNickname", "mail")
	group = append(group, attrDefs("Boolean", "IsSoftDeleted", "securityEnabled", "mailEnabled")...)
	members := attrDefs("Reference", "members")
	members[0].Multivalued = true
	members[0].ReferencedObjects = []ReferencedObject{{ReferencedObjectName: "User"}, {ReferencedObjectName: "Group"}}
	group = append(group, members...)
	group[0].Anchor = true
	meta := []StringKV{
		{Key: "PropertyNameAccountEnabled", Value: "accountEnabled"},
		{Key: "PropertyNameSoftDeleted", Value: "IsSoftDeleted"},
		{Key: "IsSoftDeletionSupported", Value: "true"},
		{Key: "IsSynchronizeAllSupported", Value: "true"},
	}
	return DirectoryDefinition{
		ID: "66e4a8cc-1b7b-435e-95f8-f06cea133828", Name: DirectoryEntra, Discoverabilities: "None", ReadOnly: true,
		Objects: []ObjectDefinition{
			{Name: "User", Attributes: user, Metadata: meta, SupportedApis: []string{}},
			{Name: "Group", Attributes: group, Metadata: meta, SupportedApis: []string{}},
		},
	}
}

func scimDirectory() DirectoryDefinition {
	user := attrDefs("String", "id", "userName", "displayName", "title", `emails[type eq "work"].value`,
		"preferredLanguage", "name.givenName", "name.familyName", "name.formatted",
		`addresses[type eq "work"].formatted`, `addresses[type eq "work"].streetAddress`,
		`addresses[type eq "work"].locality`, `addresses[type eq "work"].region`,
		`addresses[type eq "work"].postalCode`, `addresses[type eq "work"].country`,
		`phoneNumbers[type eq "work"].value`, `phoneNumbers[type eq "mobile"].value`,
		`phoneNumbers[type eq "fax"].value`, "externalId",
		enterprise+":employeeNumber", enterprise+":department")
	user = append(user, attrDefs("Boolean", "active")...)
	user[0].Anchor = true
	user[0].Mutability = "ReadOnly"
	user[1].Required = true
	group := attrDefs("String", "id", "displayName", "externalId")
	members := attrDefs("Reference", "members")
	members[0].Multivalued = true
	members[0].ReferencedObjects = []ReferencedObject{{ReferencedObjectName: "User"}, {ReferencedObjectName: "Group"}}
	group = append(group, members...)
	group[0].Anchor = true
	group[0].Mutability = "ReadOnly"
	group[1].Required = true
	return DirectoryDefinition{
		ID: "8ffa6169-f354-4751-9b77-9c00765be92d", Name: DirectorySCIM, Discoverabilities: "AttributeNames",
		Objects: []ObjectDefinition{
			{Name: "User", Attributes: user, Metadata: []StringKV{}, SupportedApis: []string{}},
			{Name: "Group", Attributes: group, Metadata: []StringKV{}, SupportedApis: []string{}},
		},
	}
}
