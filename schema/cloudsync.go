package schema

import "strings"

// Cloud sync: the templates that bring an on-premises directory into the
// built-in one.
const (
	// TemplateAD2AAD is Entra cloud sync's template: Active Directory users
	// and groups to the directory.
	TemplateAD2AAD = "AD2AADProvisioning"
	// TemplateLDAP2AAD is provisiond's own: an OpenLDAP-style directory
	// (inetOrgPerson, groupOfNames) to the directory.
	TemplateLDAP2AAD = "LDAP2AADProvisioning"

	// AD2AADRuleID is the id of the AD2AADProvisioning rule, the ruleId of
	// its provisionOnDemand calls (cloud sync's, as in Graph's example).
	AD2AADRuleID = "6c409270-f78a-4bc6-af23-7cf3ab6482fe"
	// LDAP2AADRuleID is the id of the LDAP2AADProvisioning rule.
	LDAP2AADRuleID = "4a1d3f0e-7c2b-4e59-9a8d-2f6b1c0e5d37"
)

// IsCloudSync reports whether a template (or a job, whose id starts with
// its template's) brings an on-premises directory into the directory: its
// calls need the Hybrid Identity Administrator role.
func IsCloudSync(templateOrJobID string) bool {
	t, _, _ := strings.Cut(templateOrJobID, ".")
	return strings.EqualFold(t, TemplateAD2AAD) || strings.EqualFold(t, TemplateLDAP2AAD)
}

// cloudSyncTemplates are the cloud-sync templates every service principal
// lists.
func cloudSyncTemplates(applicationID string) []Template {
	meta := func(tag string) []StringKV {
		return []StringKV{
			{Key: "GalleryApplicationKey", Value: tag},
			{Key: "IsOAuthEnabled", Value: "false"},
			{Key: "IsSynchronizationAgentRequired", Value: "false"},
			{Key: "ConfigurationFields", Value: `["Server","UserName","Password","SyncAgentADContainer","Domain"]`},
		}
	}
	return []Template{
		{
			ID: TemplateAD2AAD, ApplicationID: applicationID, FactoryTag: TemplateAD2AAD, Discoverable: true,
			Description: "Provision users and groups from Active Directory to the directory (Entra cloud sync).",
			Metadata:    meta(TemplateAD2AAD), Schema: AD2AADSchema(),
		},
		{
			ID: TemplateLDAP2AAD, ApplicationID: applicationID, FactoryTag: TemplateLDAP2AAD, Discoverable: true,
			Description: "Provision users and groups from an LDAP directory (inetOrgPerson, groupOfNames) to the directory; a provisiond extension.",
			Metadata:    meta(TemplateLDAP2AAD), Schema: LDAP2AADSchema(),
		},
	}
}

// accountEnabled mirrors the source account: enabled unless it is
// disabled on premises (accountDisabled, from userAccountControl). A
// disabled account is still provisioned, disabled, as cloud sync does;
// deprovisioning (deleted, out of scope) evaluates IsSoftDeleted as True,
// which disables the directory account.
const accountEnabled = `Switch([IsSoftDeleted], Not([accountDisabled]), "True", "False")`

// AD2AADSchema is the schema of AD2AADProvisioning: cloud sync's default
// mappings from Active Directory's attributes to the directory's. Objects
// match on their immutable id, the objectGUID.
func AD2AADSchema() *Schema {
	users := []AttributeMapping{
		matching(1, "OnPremisesImmutableId", attr("objectGUID")),
		mapping("AccountEnabled", fn(accountEnabled)),
		mapping("UserPrincipalName", attr("userPrincipalName")),
		mapping("Alias", fn(`Coalesce([mailNickname], [sAMAccountName])`)),
		mapping("CommonName", attr("cn")),
		mapping("DisplayName", fn(`Coalesce([displayName], [cn])`)),
		mapping("GivenName", attr("givenName")),
		mapping("Surname", attr("sn")),
		mapping("Mail", attr("mail")),
		mapping("ProxyAddresses", attr("proxyAddresses")),
		mapping("JobTitle", attr("title")),
		mapping("Department", attr("department")),
		mapping("CompanyName", attr("company")),
		mapping("EmployeeId", attr("employeeID")),
		mapping("City", attr("l")),
		mapping("State", attr("st")),
		mapping("Country", attr("co")),
		mapping("PostalCode", attr("postalCode")),
		mapping("StreetAddress", attr("streetAddress")),
		mapping("TelephoneNumber", attr("telephoneNumber")),
		mapping("Mobile", attr("mobile")),
		mapping("OnPremisesDistinguishedName", attr("distinguishedName")),
		mapping("OnPremiseSecurityIdentifier", attr("objectSid")),
		mapping("OnPremisesSamAccountName", attr("sAMAccountName")),
		mapping("OnPremisesUserPrincipalName", attr("userPrincipalName")),
	}
	groups := []AttributeMapping{
		matching(1, "OnPremisesImmutableId", attr("objectGUID")),
		mapping("DisplayName", fn(`Coalesce([displayName], [cn])`)),
		mapping("Description", attr("description")),
		mapping("Alias", fn(`Coalesce([mailNickname], [sAMAccountName])`)),
		mapping("Mail", attr("mail")),
		mapping("CommonName", attr("cn")),
		mapping("OnPremisesDistinguishedName", attr("distinguishedName")),
		mapping("OnPremiseSecurityIdentifier", attr("objectSid")),
		mapping("OnPremisesSamAccountName", attr("sAMAccountName")),
		mapping("members", attr("members")),
	}
	return cloudSyncSchema(AD2AADRuleID, DirectoryAD, users, groups, adDirectory())
}

// LDAP2AADSchema is the schema of LDAP2AADProvisioning. The
// userPrincipalName is the mail, else uid@Domain: domainFQDN is the job's
// Domain secret (else the DNS domain of the entry's dc= components), which
// the LDAP source adds to every entry. Objects match on entryUUID. LDAP
// attributes such as uid, cn and mail may hold several values:
// single-valued targets take the first.
func LDAP2AADSchema() *Schema {
	upn := `IIF(IsPresent([mail]), Item([mail], 1), Join("@", Item([uid], 1), [domainFQDN]))`
	users := []AttributeMapping{
		matching(1, "OnPremisesImmutableId", attr("entryUUID")),
		mapping("AccountEnabled", fn(accountEnabled)),
		mapping("UserPrincipalName", fn(upn)),
		mapping("Alias", fn(`Item([uid], 1)`)),
		mapping("CommonName", fn(`Item([cn], 1)`)),
		mapping("DisplayName", fn(`Coalesce([displayName], Item([cn], 1))`)),
		mapping("GivenName", attr("givenName")),
		mapping("Surname", fn(`Item([sn], 1)`)),
		mapping("Mail", fn(`Item([mail], 1)`)),
		mapping("EmployeeId", attr("employeeNumber")),
		mapping("Department", fn(`Item([departmentNumber], 1)`)),
		mapping("OnPremisesDistinguishedName", attr("distinguishedName")),
		mapping("OnPremisesSamAccountName", fn(`Item([uid], 1)`)),
		mapping("OnPremisesUserPrincipalName", fn(upn)),
	}
	groups := []AttributeMapping{
		matching(1, "OnPremisesImmutableId", attr("entryUUID")),
		mapping("DisplayName", fn(`Item([cn], 1)`)),
		mapping("Description", attr("description")),
		mapping("CommonName", fn(`Item([cn], 1)`)),
		mapping("OnPremisesDistinguishedName", attr("distinguishedName")),
		mapping("members", attr("members")),
	}
	return cloudSyncSchema(LDAP2AADRuleID, DirectoryLDAP, users, groups, ldapDirectory())
}

func cloudSyncSchema(ruleID, source string, users, groups []AttributeMapping, src DirectoryDefinition) *Schema {
	return &Schema{
		Version: "v1.0",
		SynchronizationRules: []Rule{{
			ID:                  ruleID,
			Name:                "USER_INBOUND_USER",
			Editable:            true,
			Priority:            1,
			SourceDirectoryName: source,
			TargetDirectoryName: DirectoryEntra,
			Metadata: []StringKV{
				{Key: "defaultSourceObjectMappings", Value: `["user","group"]`},
				{Key: "supportsProvisionOnDemand", Value: "true"},
			},
			ObjectMappings: []ObjectMapping{
				{
					Name: "Provision " + source + " Users", Enabled: true,
					FlowTypes: "Add,Update,Delete", SourceObjectName: "user", TargetObjectName: "User",
					AttributeMappings: users, Metadata: []StringKV{},
				},
				{
					Name: "Provision " + source + " Groups", Enabled: true,
					FlowTypes: "Add,Update,Delete", SourceObjectName: "group", TargetObjectName: "Group",
					AttributeMappings: groups, Metadata: []StringKV{},
				},
			},
		}},
		Directories: []DirectoryDefinition{src, directoryTarget()},
	}
}

// references is a multi-valued member attribute.
func references(name string) AttributeDefinition {
	d := attrDefs("Reference", name)[0]
	d.Multivalued = true
	d.ReferencedObjects = []ReferencedObject{{ReferencedObjectName: "user"}, {ReferencedObjectName: "group"}}
	return d
}

func multi(defs []AttributeDefinition, names ...string) []AttributeDefinition {
	for i := range defs {
		for _, n := range names {
			if defs[i].Name == n {
				defs[i].Multivalued = true
			}
		}
	}
	return defs
}

// onPremises is the metadata of a source directory definition.
var onPremises = []StringKV{
	{Key: "PropertyNameSoftDeleted", Value: "IsSoftDeleted"},
	{Key: "IsSoftDeletionSupported", Value: "true"},
}

func adDirectory() DirectoryDefinition {
	user := attrDefs("String", "objectGUID", "distinguishedName", "userPrincipalName", "sAMAccountName", "cn",
		"displayName", "givenName", "sn", "mail", "mailNickname", "proxyAddresses", "objectSid", "title",
		"department", "company", "employeeID", "l", "st", "co", "postalCode", "streetAddress",
		"telephoneNumber", "mobile")
	user = append(multi(user, "proxyAddresses"), attrDefs("Integer", "userAccountControl")...)
	user = append(user, attrDefs("String", "domainFQDN")...)
	user = append(user, attrDefs("Boolean", "accountDisabled", "IsSoftDeleted")...)
	user[0].Anchor = true
	group := attrDefs("String", "objectGUID", "distinguishedName", "cn", "displayName", "description",
		"sAMAccountName", "mail", "mailNickname", "objectSid")
	group = append(group, references("members"))
	group = append(group, attrDefs("Boolean", "IsSoftDeleted")...)
	group[0].Anchor = true
	return DirectoryDefinition{
		ID: "f1f2e1b6-3a5c-4a0e-8a9e-0d6d5d8c2a01", Name: DirectoryAD, Discoverabilities: "AttributeDataTypes",
		Objects: []ObjectDefinition{
			{Name: "user", Attributes: user, Metadata: onPremises, SupportedApis: []string{}},
			{Name: "group", Attributes: group, Metadata: onPremises, SupportedApis: []string{}},
		},
	}
}

func ldapDirectory() DirectoryDefinition {
	user := attrDefs("String", "entryUUID", "distinguishedName", "uid", "cn", "sn", "givenName", "displayName",
		"mail", "employeeNumber", "departmentNumber")
	user = append(multi(user, "uid", "cn", "sn", "mail", "departmentNumber"), attrDefs("String", "domainFQDN")...)
	user = append(user, attrDefs("Boolean", "accountDisabled", "IsSoftDeleted")...)
	user[0].Anchor = true
	group := attrDefs("String", "entryUUID", "distinguishedName", "cn", "description")
	group = append(multi(group, "cn"), references("members"))
	group = append(group, attrDefs("Boolean", "IsSoftDeleted")...)
	group[0].Anchor = true
	return DirectoryDefinition{
		ID: "0c8f5a3e-9b1d-4f27-b6e4-5a2d7c9e1f48", Name: DirectoryLDAP, Discoverabilities: "AttributeDataTypes",
		Objects: []ObjectDefinition{
			{Name: "user", Attributes: user, Metadata: onPremises, SupportedApis: []string{}},
			{Name: "group", Attributes: group, Metadata: onPremises, SupportedApis: []string{}},
		},
	}
}

// directoryTarget is the directory as cloud sync writes it: the names of
// its target schema.
func directoryTarget() DirectoryDefinition {
	user := attrDefs("String", "OnPremisesImmutableId", "UserPrincipalName", "Alias", "CommonName", "DisplayName",
		"GivenName", "Surname", "Mail", "ProxyAddresses", "JobTitle", "Department", "CompanyName", "EmployeeId",
		"City", "State", "Country", "PostalCode", "StreetAddress", "TelephoneNumber", "Mobile",
		"OnPremisesDistinguishedName", "OnPremiseSecurityIdentifier", "OnPremisesSamAccountName",
		"OnPremisesUserPrincipalName", "PreferredLanguage", "UsageLocation")
	user = append(multi(user, "ProxyAddresses", "TelephoneNumber"), attrDefs("Boolean", "AccountEnabled")...)
	user[0].Anchor = true
	user[1].Required = true
	group := attrDefs("String", "OnPremisesImmutableId", "DisplayName", "Description", "Alias", "Mail", "CommonName",
		"OnPremisesDistinguishedName", "OnPremiseSecurityIdentifier", "OnPremisesSamAccountName")
	group = append(group, attrDefs("Boolean", "MailEnabled", "SecurityEnabled")...)
	members := attrDefs("Reference", "members")
	members[0].Multivalued = true
	members[0].ReferencedObjects = []ReferencedObject{{ReferencedObjectName: "User"}, {ReferencedObjectName: "Group"}}
	group = append(group, members...)
	group[0].Anchor = true
	group[1].Required = true
	return DirectoryDefinition{
		ID: "3c1e0f4b-8d2a-4b6f-9e71-6a5c2d8b0f93", Name: DirectoryEntra, Discoverabilities: "None",
		Objects: []ObjectDefinition{
			{Name: "User", Attributes: user, Metadata: []StringKV{}, SupportedApis: []string{}},
			{Name: "Group", Attributes: group, Metadata: []StringKV{}, SupportedApis: []string{}},
		},
	}
}
