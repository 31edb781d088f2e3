@policy @consent @office365 @needs:office365-graph
Feature: Consent on behalf of the account and the Office 365 admin's authorization for rooms
  With "consent to Office 365 calendar integration permissions on behalf of the entire account"
  a user's integration waits until the Office 365 admin has consented for the account. An
  Office 365 admin adds the calendar service under Room Management > Calendar Integration,
  checking "I'm an Office 365 admin and agree on behalf of the company": only that consent lets
  users of a tenant without user consent integrate, and it must come first. Only an Office 365
  admin's credentials can give it.

  @req:CONSENT-01 @req:CONSENT-03 @req:CONSENT-04 @needs:rooms
  Scenario: With consent on behalf of the account, users wait for the Office 365 admin's consent
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin changes the account settings:
      | setting                      | value |
      | consent_on_behalf_of_account | on    |
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up is refused with "admin_consent_pending" and a message containing "waiting for the Office 365 admin"
    And the integration status is "pending"
    And the user was never sent to sign in at Microsoft
    When the admin consents as Office 365 admin on behalf of the entire account
    Then the consent on behalf of the entire account is granted
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:CONSENT-03
  Scenario: Without consent on behalf of the account, a user of a consenting tenant integrates at once
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the integration status is "connected"

  @req:APPROVAL-02
  Scenario: Where the tenant lets users consent to apps, the same set-up needs no admin approval
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service
    Then the sign-in did not stop for admin approval
    And the integration status is "connected"

  @req:ROOMS-07 @req:ROOMS-01 @needs:rooms
  Scenario: The admin's calendar integration must be completed before users set theirs up
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the first member of tenant "fabrikam"
    When the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    And the integration status is not "connected"
    When the admin authorizes the integration as Office 365 admin on behalf of the company
    And the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:ROOMS-05 @needs:rooms
  Scenario: Authorizing without agreeing on behalf of the company leaves users needing approval
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the first member of tenant "fabrikam"
    When the admin authorizes the integration as Office 365 admin without agreeing on behalf of the company
    And the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    And the integration status is not "connected"
    And the identity provider recorded no consent on behalf of the organisation

  @req:CONSENT-05 @req:APPPERM-01 @needs:app-permissions
  Scenario: An account admin without Office 365 admin credentials cannot authorize for the company
    Given a meeting platform account owned by the admin of tenant "contoso" whose first member is an account admin
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin chooses that the Office 365 admin sets up the integration with application permissions
    And the user is the second member of tenant "contoso"
    When the account admin tries to authorize the integration as Office 365 admin on behalf of the company
    Then the authorization is not granted and says "not an administrator"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up is refused with "admin_setup_required" and a message containing "Office 365 admin has not set up"
    And nothing changed

  @req:CONSENT-05 @req:ROOMS-05 @needs:rooms
  Scenario: A plain member of the account cannot start the authorization on behalf of the company
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    When the first member of tenant "contoso" tries to authorize the integration as Office 365 admin on behalf of the company
    Then the authorization is refused with "not_an_admin" before anyone is sent to Microsoft

  @req:ROOMS-03 @req:ROOMS-04 @needs:rooms
  Scenario: The Office 365 room calendar service authorized with OAuth 2.0 asks the admin's consent for Graph
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the user is the first member of tenant "fabrikam"
    When the admin authorizes the integration as Office 365 admin on behalf of the company
    Then the Office 365 admin's consent for the company covered exactly the resource scopes "Calendars.Read"
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:ROOMS-03 @req:ROOMS-04 @needs:rooms @needs:office365-ews
  Scenario: The Office 365 room calendar service authorized with EWS asks the admin's consent for EWS
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin sets the default calendar service to "Office 365" authorized with "EWS URL"
    And the user is the first member of tenant "fabrikam"
    When the admin authorizes the integration as Office 365 admin on behalf of the company
    Then the Office 365 admin's consent for the company covered exactly the resource scopes "EWS.AccessAsUser.All"
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:CONSENT-08 @req:CONSENT-04 @needs:rooms
  Scenario: Consent for the company needs a Microsoft account that can grant admin consent, not only an account admin
    Given a meeting platform account owned by the admin of tenant "contoso" whose first member is an account admin
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin changes the account settings:
      | setting                      | value |
      | consent_on_behalf_of_account | on    |
    And the user is the second member of tenant "contoso"
    When the account admin tries to authorize the integration as Office 365 admin on behalf of the company
    Then the authorization is not granted and says "not an administrator"
    And the identity provider recorded no consent on behalf of the organisation
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up is refused with "admin_consent_pending" and a message containing "waiting for the Office 365 admin"
    And the user was never sent to sign in at Microsoft
