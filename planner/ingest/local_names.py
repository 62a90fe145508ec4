"""Column names of CRM exports made in German, French and Spanish (Salesforce, HubSpot, Dynamics and Pipedrive
in those languages), as `fields.normalize_header` writes them (lower case, accents folded: 'Étape' is 'etape').
They extend each field's English synonyms, after them, so an export in another language maps itself."""

from __future__ import annotations

LOCAL: dict[tuple[str, str], tuple[str, ...]] = {
    ("accounts", "id"): ("kundennummer", "account nr", "firmen id", "id du compte", "identifiant du compte",
                         "id de cuenta", "id de la cuenta"),
    ("accounts", "name"): ("firmenname", "firma", "unternehmen", "unternehmensname", "kundenname", "nom du compte",
                           "nom de l entreprise", "entreprise", "societe", "raison sociale", "nombre de la cuenta",
                           "nombre de cuenta", "empresa", "nombre de la empresa", "compania"),
    ("accounts", "industry"): ("branche", "secteur d activite", "secteur", "industrie", "industria"),
    ("accounts", "employees"): ("mitarbeiter", "anzahl mitarbeiter", "mitarbeiterzahl", "beschaftigte", "employes",
                                "nombre d employes", "effectif", "empleados", "numero de empleados"),
    ("accounts", "annual_revenue"): ("jahresumsatz", "umsatz", "chiffre d affaires annuel", "chiffre d affaires",
                                     "ingresos anuales", "facturacion anual"),
    ("accounts", "account_type"): ("accounttyp", "type de compte", "tipo de cuenta"),
    ("accounts", "city"): ("rechnungsstadt", "rechnung ort", "ort", "stadt", "ville de facturation", "ville",
                           "ciudad de facturacion", "ciudad"),
    ("accounts", "state"): ("rechnungsbundesland", "bundesland", "provincia"),
    ("accounts", "postal_code"): ("rechnungs plz", "rechnung plz", "plz", "postleitzahl", "code postal de facturation",
                                  "code postal", "codigo postal de facturacion", "codigo postal"),
    ("accounts", "country"): ("rechnungsland", "land", "pays de facturation", "pays", "pais de facturacion", "pais"),
    ("accounts", "owner"): ("accountinhaber", "account inhaber", "inhaber", "kundenbetreuer",
                            "proprietaire du compte", "propietario de la cuenta"),
    ("deals", "id"): ("verkaufschance id", "id de l opportunite", "id de la oportunidad"),
    ("deals", "account_name"): ("firmenname", "kundenname", "nom du compte", "nombre de la cuenta", "nombre de cuenta"),
    ("deals", "name"): ("name der verkaufschance", "verkaufschance", "nom de l opportunite",
                        "nombre de la oportunidad", "nombre de oportunidad", "oportunidad"),
    ("deals", "stage"): ("phase", "verkaufsphase", "etape", "etape de vente", "etapa", "fase"),
    ("deals", "amount"): ("betrag", "montant", "importe", "monto", "valor", "valor usd", "valorusd"),
    ("deals", "created_date"): ("erstellt am", "erstelldatum", "erstellungsdatum", "date de creation",
                                "fecha de creacion"),
    ("deals", "close_date"): ("schlusstermin", "abschlussdatum", "abschlusstermin", "date de cloture",
                              "fecha de cierre"),
    ("deals", "owner"): ("opportunity inhaber", "inhaber der verkaufschance", "verkaufschance inhaber", "deal inhaber",
                         "proprietaire de l opportunite", "propietario de la oportunidad"),
    ("reps", "email"): ("e mail", "e mail adresse", "adresse e mail", "courriel", "correo electronico"),
}  # fmt: skip
