"""The base every other package stands on: settings, database, models, tenants, errors,
signing, who may see what (access), formatting and translations. Imports nothing of ours."""
