// A third-party SCIM 2.0 server (SCIMMY + SCIMMY Routers) for provisiond's
// connector tests: users (with the enterprise extension) and groups kept in
// memory. Env: SCIMMY_TOKEN (bearer token), PORT (0 or unset: a free port).
// Prints "listening http://127.0.0.1:<port>/scim/v2" once ready.
import {randomUUID} from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const token = process.env.SCIMMY_TOKEN || "scimmy-test-token";
const lower = (v) => (typeof v === "string" ? v.toLowerCase() : v);
const stores = {User: new Map(), Group: new Map()};

// userName and displayName are caseExact=false (RFC 7643): match them on
// lower-cased copies, since SCIMMY's Filter.match compares strings exactly.
function find(store, filter, key) {
    const fold = (e) => (Array.isArray(e) ? e.map(fold) : lower(e));
    const folded = new SCIMMY.Types.Filter(JSON.parse(JSON.stringify(filter))
        .map((f) => (key in f ? {...f, [key]: fold(f[key])} : f)));
    return [...store.values()].filter((r) => folded.match([{...r, [key]: lower(r[key])}]).length);
}

function declare(Resource, type, key) {
    const store = stores[type];
    SCIMMY.Resources.declare(Resource)
        .ingress((resource, instance) => {
            const data = JSON.parse(JSON.stringify(instance));
            const old = resource.id ? store.get(resource.id) : undefined;
            if (resource.id && !old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            for (const r of store.values())
                if (r.id !== resource.id && lower(r[key]) === lower(data[key]))
                    throw new SCIMMY.Types.Error(409, "uniqueness", `${key} '${data[key]}' is already in use`);
            const id = old?.id ?? randomUUID(), now = new Date().toISOString();
            const record = {...data, id, meta: {resourceType: type, created: old?.meta.created ?? now, lastModified: now}};
            store.set(id, record);
            return record;
        })
        .egress((resource) => {
            if (resource.id) {
                const r = store.get(resource.id);
                if (!r) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                return r;
            }
            return resource.filter ? find(store, resource.filter, key) : [...store.values()];
        })
        .degress((resource) => {
            if (!store.delete(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            for (const g of stores.Group.values()) g.members = g.members?.filter((m) => m.value !== resource.id);
        });
}

declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false), "User", "userName");
declare(SCIMMY.Resources.Group, "Group", "displayName");

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (req.header("Authorization") !== `Bearer ${token}`) throw new Error("Invalid bearer token");
        return "provisiond-tests";
    },
}));
const server = app.listen(Number(process.env.PORT || 0), "127.0.0.1", () =>
    console.log(`listening http://127.0.0.1:${server.address().port}/scim/v2`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
