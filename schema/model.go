package schema

import "time"

// Schema is Graph's synchronizationSchema.
type Schema struct {
	ID                   string                `json:"id"`
	SynchronizationRules []Rule                `json:"synchronizationRules"`
	Version              string                `json:"version"`
	Directories          []DirectoryDefinition `json:"directories"`
}

// Rule is a synchronizationRule: one source→target direction.
type Rule struct {
	ContainerFilter     *ContainerFilter `json:"containerFilter"`
	Editable            bool             `json:"editable"`
	GroupFilter         *GroupFilter     `json:"groupFilter"`
	ID                  string           `json:"id"`
	Metadata            []StringKV       `json:"metadata"`
	Name                string           `json:"name"`
	ObjectMappings      []ObjectMapping  `json:"objectMappings"`
	Priority            int32            `json:"priority"`
	SourceDirectoryName string           `json:"sourceDirectoryName"`
	TargetDirectoryName string           `json:"targetDirectoryName"`
}

// ContainerFilter limits a rule to some containers (OUs).
type ContainerFilter struct {
	IncludedContainers []string `json:"includedContainers"`
}

// GroupFilter limits a rule to members of some groups.
type GroupFilter struct {
	IncludedGroups []string `json:"includedGroups"`
}

// StringKV is Graph's stringKeyStringValuePair.
type StringKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ObjectMapping maps one source object type to one target object type.
type ObjectMapping struct {
	AttributeMappings []AttributeMapping `json:"attributeMappings"`
	Enabled           bool               `json:"enabled"`
	FlowTypes         string             `json:"flowTypes"`
	Metadata          []StringKV         `json:"metadata"`
	Name              string             `json:"name"`
	Scope             *Filter            `json:"scope"`
	SourceObjectName  string             `json:"sourceObjectName"`
	TargetObjectName  string             `json:"targetObjectName"`
}

// AttributeMapping computes one target attribute.
type AttributeMapping struct {
	DefaultValue            *string        `json:"defaultValue"`
	ExportMissingReferences bool           `json:"exportMissingReferences"`
	FlowBehavior            string         `json:"flowBehavior"`
	FlowType                string         `json:"flowType"`
	MatchingPriority        int32          `json:"matchingPriority"`
	Source                  *MappingSource `json:"source"`
	TargetAttributeName     string         `json:"targetAttributeName"`
}

// MappingSource is Graph's attributeMappingSource: an attribute, a constant
// or a function call, with the expression text.
type MappingSource struct {
	Expression *string       `json:"expression"`
	Name       *string       `json:"name"`
	Parameters []SourceParam `json:"parameters"`
	Type       string        `json:"type"`
}

// SourceParam is stringKeyAttributeMappingSourceValuePair.
type SourceParam struct {
	Key   string         `json:"key"`
	Value *MappingSource `json:"value"`
}

// Filter is an object mapping's scope.
type Filter struct {
	CategoryFilterGroups []FilterGroup `json:"categoryFilterGroups"`
	Groups               []FilterGroup `json:"groups"`
	InputFilterGroups    []FilterGroup `json:"inputFilterGroups"`
}

// FilterGroup is true when all its clauses are.
type FilterGroup struct {
	Clauses []FilterClause `json:"clauses"`
	Name    string         `json:"name"`
}

// FilterClause compares one source attribute.
type FilterClause struct {
	OperatorName      string         `json:"operatorName"`
	SourceOperandName string         `json:"sourceOperandName"`
	TargetOperand     *FilterOperand `json:"targetOperand"`
}

// FilterOperand holds a clause's comparison values.
type FilterOperand struct {
	Values []string `json:"values"`
}

// DirectoryDefinition describes one directory's object types.
type DirectoryDefinition struct {
	ID                string             `json:"id"`
	Discoverabilities string             `json:"discoverabilities"`
	DiscoveryDateTime *time.Time         `json:"discoveryDateTime"`
	Name              string             `json:"name"`
	Objects           []ObjectDefinition `json:"objects"`
	ReadOnly          bool               `json:"readOnly"`
	Version           *string            `json:"version"`
}

// ObjectDefinition describes one object type.
type ObjectDefinition struct {
	Attributes    []AttributeDefinition `json:"attributes"`
	Metadata      []StringKV            `json:"metadata"`
	Name          string                `json:"name"`
	SupportedApis []string              `json:"supportedApis"`
}

// AttributeDefinition describes one attribute.
type AttributeDefinition struct {
	Anchor            bool               `json:"anchor"`
	APIExpressions    []StringKV         `json:"apiExpressions"`
	CaseExact         bool               `json:"caseExact"`
	DefaultValue      *string            `json:"defaultValue"`
	FlowNullValues    bool               `json:"flowNullValues"`
	Metadata          []StringKV         `json:"metadata"`
	Multivalued       bool               `json:"multivalued"`
	Mutability        string             `json:"mutability"`
	Name              string             `json:"name"`
	ReferencedObjects []ReferencedObject `json:"referencedObjects"`
	Required          bool               `json:"required"`
	Type              string             `json:"type"`
}

// ReferencedObject names the target of a Reference attribute.
type ReferencedObject struct {
	ReferencedObjectName string `json:"referencedObjectName"`
	ReferencedProperty   string `json:"referencedProperty"`
}

// Template is Graph's synchronizationTemplate.
type Template struct {
	ID            string     `json:"id"`
	ApplicationID string     `json:"applicationId"`
	Default       bool       `json:"default"`
	Description   string     `json:"description"`
	Discoverable  bool       `json:"discoverable"`
	FactoryTag    string     `json:"factoryTag"`
	Metadata      []StringKV `json:"metadata"`
	Schema        *Schema    `json:"schema,omitempty"`
}

// Rule returns the rule with the given id, or nil.
func (s *Schema) Rule(id string) *Rule {
	for i := range s.SynchronizationRules {
		if s.SynchronizationRules[i].ID == id {
			return &s.SynchronizationRules[i]
		}
	}
	return nil
}
